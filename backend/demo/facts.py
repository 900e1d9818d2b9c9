"""Facts for the demo: the Banli zone and Changtai District, from the zone's public account.

Names of people and most workshops are invented; the zone, the brands, the upgraded
enterprises, the products and the inspection practice are as the zone describes them.
"""

from __future__ import annotations

ZONE = {
    "code": "banli",
    "name_zh": "半里小作坊集中加工区",
    "name_en": "Banli Centralized Processing Zone for Small Food Workshops",
    "township": "半里乡",
    "district": "长泰区",
    "city": "漳州市",
    "province": "福建省",
    "story_zh": (
        "长泰区把散落在乡间的食品小作坊集中到半里加工区，实行区域、品牌、原料、检测、"
        "管理、销售“六统一”：统一使用“半里红”“半里鲜”区域公用品牌，原料统一采购查验，"
        "产品由检测联盟实验室统一检测，每件产品一物一码、明厨亮灶，消费者扫码即可追溯。"
    ),
    "story_en": (
        "Changtai District brought its scattered small food workshops together in the Banli "
        "zone under the 'six unified' approach: region, brand, raw materials, inspection, "
        "management and sales. Products carry the zone brands Banli Red and Banli Fresh, are "
        "tested by the inspection alliance's laboratory, and every unit has its own code."
    ),
}

BRANDS = [
    {
        "code": "banli-red",
        "name_zh": "半里红",
        "name_en": "Banli Red",
        "slogan_zh": "古法红曲，一坛一码",
        "slogan_en": "Red yeast rice wine the old way, one code per jar",
        "description_zh": "半里红曲酒等以红曲发酵的传统产品。",
        "description_en": "Traditional products fermented with red yeast rice.",
    },
    {
        "code": "banli-fresh",
        "name_zh": "半里鲜",
        "name_en": "Banli Fresh",
        "slogan_zh": "当天现做，扫码可查",
        "slogan_en": "Made fresh today, traceable by scan",
        "description_zh": "坊洋黑豆腐、糕点、肉丸、面制品等鲜食产品。",
        "description_en": "Fresh foods: black bean tofu, cakes, meatballs, dough products.",
    },
]

# Product templates per category: name, English name, specification, shelf life in days
# (None: no clear shelf life), standard executed, ingredients, storage, labelled alcohol.
PRODUCTS = {
    "huangjiu": (
        "半里红曲酒",
        "Banli red yeast rice wine",
        "500mL/瓶",
        None,
        "GB/T 13662",
        "糯米、红曲、水",
        "常温阴凉处避光保存",
        15.0,
    ),
    "bean_products": (
        "坊洋黑豆腐",
        "Fangyang black bean tofu",
        "400g/块",
        3,
        "GB 2712",
        "黑豆、水、盐卤（氯化镁）",
        "0–4℃冷藏",
        None,
    ),
    "dried_tofu": (
        "半里黑豆干",
        "Banli black bean dried tofu",
        "250g/袋",
        7,
        "GB 2712",
        "黑豆、水、盐卤（氯化镁）、食盐",
        "0–4℃冷藏",
        None,
    ),
    "cakes": (
        "半里红曲米糕",
        "Banli red yeast rice cake",
        "300g/盒",
        15,
        "GB 7099",
        "糯米粉、白砂糖、红曲米粉、食用植物油",
        "常温阴凉干燥处",
        None,
    ),
    "meat_products": (
        "半里手打肉丸",
        "Banli hand-beaten pork meatballs",
        "500g/袋",
        90,
        "GB 2726",
        "猪肉、马铃薯淀粉、食盐、葱",
        "-18℃以下冷冻",
        None,
    ),
    "dough_products": (
        "半里手工面线",
        "Banli hand-pulled wheat vermicelli",
        "500g/把",
        180,
        "GB/T 40636",
        "小麦粉、食盐、水",
        "常温干燥处",
        None,
    ),
}

# Raw materials per category: name, supplier key, unit, shelf life of the material in days,
# whether it is a food additive.
MATERIALS = {
    "huangjiu": [("糯米", "rice", "kg", 365, False), ("古田红曲", "redyeast", "kg", 365, False)],
    "bean_products": [
        ("黑豆", "beans", "kg", 365, False),
        ("盐卤（氯化镁）", "additive", "kg", 730, True),
    ],
    "dried_tofu": [("黑豆", "beans", "kg", 365, False), ("食盐", "salt", "kg", 1095, False)],
    "cakes": [
        ("糯米粉", "flour", "kg", 180, False),
        ("白砂糖", "sugar", "kg", 730, False),
        ("红曲米粉", "redyeast", "kg", 365, False),
    ],
    "meat_products": [
        ("鲜猪肉", "pork", "kg", 3, False),
        ("马铃薯淀粉", "flour", "kg", 365, False),
        ("食盐", "salt", "kg", 1095, False),
    ],
    "dough_products": [("小麦粉", "flour", "kg", 180, False), ("食盐", "salt", "kg", 1095, False)],
}

ADDITIVES = {
    "bean_products": ("盐卤（氯化镁）", "凝固剂", "0.8", "kg"),
    "dried_tofu": ("盐卤（氯化镁）", "凝固剂", "0.5", "kg"),
    "cakes": ("无铝泡打粉", "膨松剂", "0.3", "kg"),
}

SUPPLIERS = {
    "rice": (
        "漳州市丰谷粮油商行",
        "JY13506020012345",
        "漳州市芗城区浦头路18号",
        "郑丰谷",
        "0596-2123456",
        "糯米",
    ),
    "redyeast": (
        "古田县红曲米厂",
        "SC10135092200031",
        "宁德市古田县城东街道红曲路8号",
        "余红",
        "0593-3881234",
        "红曲、红曲米粉",
    ),
    "beans": (
        "长泰区枋洋镇黑豆种植专业合作社",
        "93350625MA31ABC12X",
        "漳州市长泰区枋洋镇江都村",
        "叶建国",
        "13905961234",
        "黑豆",
    ),
    "additive": (
        "漳州市惠康食品添加剂经营部",
        "JY13506030045678",
        "漳州市龙文区建元路66号",
        "林惠康",
        "0596-2567890",
        "盐卤、无铝泡打粉",
    ),
    "flour": (
        "漳州市金穗面粉有限公司",
        "SC10135060200088",
        "漳州市龙海区角美镇工业路3号",
        "黄金穗",
        "0596-6781234",
        "小麦粉、糯米粉、淀粉",
    ),
    "pork": (
        "长泰区生猪定点屠宰厂",
        "A35062501",
        "漳州市长泰区武安镇溪园路9号",
        "陈屠",
        "0596-8321234",
        "鲜猪肉（检疫合格）",
    ),
    "sugar": (
        "厦门市甘蔗糖业批发部",
        "JY13502060023456",
        "厦门市海沧区海沧大道100号",
        "王甜",
        "0592-6512345",
        "白砂糖",
    ),
    "salt": (
        "福建省盐业集团漳州分公司",
        "SC20335060000012",
        "漳州市芗城区胜利西路20号",
        "吴盐",
        "0596-2034567",
        "食盐",
    ),
}

# The ten zone workshops. key, name, operator, category list, brand, status, trademark,
# licence number (upgraded enterprises), batch prefix.
ZONE_WORKSHOPS = [
    (
        "sdt",
        "长泰区四大桶红曲酒坊",
        "郑大桶",
        ["huangjiu"],
        "banli-red",
        "upgraded",
        "四大桶",
        "SC11535062500017",
    ),
    (
        "nf",
        "长泰区内坊豆腐坊",
        "叶内坊",
        ["bean_products", "dried_tofu"],
        "banli-fresh",
        "upgraded",
        "内坊豆腐",
        "SC12435062500025",
    ),
    ("lin", "半里林氏红曲酒坊", "林秀英", ["huangjiu"], "banli-red", "active", None, None),
    ("chen", "半里陈记红曲酒坊", "陈阿水", ["huangjiu"], "banli-red", "active", None, None),
    ("ye", "坊洋叶家黑豆腐坊", "叶春梅", ["bean_products"], "banli-fresh", "active", None, None),
    (
        "zheng",
        "半里郑家豆腐坊",
        "郑国平",
        ["bean_products", "dried_tofu"],
        "banli-fresh",
        "active",
        None,
        None,
    ),
    ("apo", "半里阿婆糕点坊", "杨阿婆", ["cakes"], "banli-fresh", "active", None, None),
    ("huang", "半里黄记糕点坊", "黄志明", ["cakes"], "banli-fresh", "active", None, None),
    ("yang", "半里杨氏肉丸坊", "杨金福", ["meat_products"], "banli-fresh", "active", None, None),
    ("wu", "半里吴记面线坊", "吴丽华", ["dough_products"], "banli-fresh", "active", None, None),
]

# Workshops of the district outside the zone (34, for 44 in all).
TOWNS = ["武安镇", "岩溪镇", "陈巷镇", "枋洋镇", "半里乡"]
VILLAGES = ["珪后村", "上蔡村", "湖珠村", "石铭村", "江都村", "山重村", "林墩村", "京元村"]
SURNAMES = ["林", "陈", "黄", "郑", "杨", "叶", "吴", "王", "张", "李", "蔡", "许", "戴", "蒋"]
GIVEN = ["建华", "秀兰", "志强", "美玲", "国庆", "春生", "丽珍", "文斌", "金凤", "德福", "宝珠"]
OTHER_TRADES = [
    ("红曲酒坊", ["huangjiu"]),
    ("豆腐坊", ["bean_products"]),
    ("糕点坊", ["cakes"]),
    ("肉丸坊", ["meat_products"]),
    ("面线坊", ["dough_products"]),
    ("馒头坊", ["steamed_dough"]),
]
STEAMED = (
    "手工馒头",
    "Hand-made steamed buns",
    "6个/袋",
    2,
    "GB/T 21118",
    "小麦粉、酵母、水",
    "常温",
    None,
)

BUYERS = [
    ("长泰区武安镇惠民超市", "漳州市长泰区武安镇人民路32号", "李惠民", "13860612345"),
    ("漳州市芗城区闽南酒家", "漳州市芗城区延安北路88号", "陈海", "13950612345"),
    ("厦门市海沧区好邻居便利店", "厦门市海沧区沧林路16号", "王好", "13806012345"),
    ("长泰区岩溪镇农贸市场摊位12号", "漳州市长泰区岩溪镇农贸市场", "吴摊", "13705961234"),
]

LAB_AGENCY = "半星红酒厂实验室（食品检测联盟）"
VEHICLE = "长泰区食品安全快检车"

TRAININGS = [
    ("食品小作坊食品安全主体责任培训", 50, "长泰区市场监督管理局", "半里加工区会议室"),
    ("《食品安全法》与小作坊登记管理宣贯", 30, "长泰区市场监督管理局", "半里乡政府三楼"),
    ("明厨亮灶与一品一码操作培训", 10, "半里加工区管委会", "半里加工区会议室"),
]

# What the process record of a batch says, by product category.
PROCESS_NOTES = {
    "huangjiu": "浸米24小时→蒸饭→摊凉→拌红曲→入缸发酵30天→压榨→煎酒85℃→灌装",
    "bean_products": "黑豆浸泡8小时→磨浆→煮浆95℃→点卤→压制成型→冷却",
    "dried_tofu": "黑豆浸泡→磨浆→煮浆→点卤→压制→切块→卤制→冷却包装",
    "cakes": "糯米粉与糖拌匀→加红曲米粉→蒸制40分钟→冷却→切块包装",
    "meat_products": "鲜肉绞碎→手工捶打→调味→成型→水煮→速冻-18℃",
    "dough_products": "和面→醒面→搓条→拉丝→晾晒→包装",
}
