"""The additive uses the rule base is asked about, each written from a row of
backend/rules/data/standards.csv (its limit, unit, category and clause are in the expected
message), and the batch sizes they are judged against (see test_additives.py)."""

from dataclasses import dataclass

# category, specification, planned quantity, batch unit → the batch's size
SIZES = {
    "cakes": ("红曲米糕", "500g/盒", 200, "盒"),  # 100 kg
    "steamed_dough": ("红糖馒头", "100g/个", 1000, "个"),  # 100 kg
    "huangjiu": ("半里红曲酒", "500mL/瓶", 200, "瓶"),  # 100 L
    "dried_tofu": ("半里黑豆干", "250g/袋", 200, "袋"),  # 50 kg
    "bean_products": ("坊洋黑豆腐", "0.5kg/块", 120, "块"),  # 60 kg
    "meat_products": ("手打肉丸", "1公斤/袋", 50, "袋"),  # 50 kg
    "dough_products": ("碱水面", "2斤/袋", 100, "袋"),  # 100 kg
}

ACE_CAKE = "安赛蜜（CNS 19.011） 07.02 糕点"
OVER = (
    "{name}用量折合{per_name}{per} {unit}，超过{cat}的最大使用量 {limit} {unit}"
    "（依据：GB 2760-2024 表A.1 {clause}）。"
)


def over(name, per, unit, cat, limit, clause, per_name="每千克"):
    return OVER.format(
        name=name, per_name=per_name, per=per, unit=unit, cat=cat, limit=limit, clause=clause
    )


def within(name, per, unit, limit, clause, per_name="每千克"):
    return (
        f"{name}用量折合{per_name}{per} {unit}，未超过最大使用量 {limit} {unit}"
        f"（依据：GB 2760-2024 表A.1 {clause}）。"
    )


BENZOIC_IN_CAKES = "".join(
    (
        "糕点中不得使用苯甲酸及其钠盐",
        "（依据：GB 2760-2024 表A.1 苯甲酸及其钠盐（CNS 17.001、17.002））。",
    )
)
REVIEW = "该限量尚未与标准原文核对，本次记录已保存，待监管部门复核。"


@dataclass
class Case:
    label: str
    category: str
    additive: str
    amount: str
    unit: str
    status: int
    outcome: str  # the error slug, or the check's status
    message: str | None = None


ACE = "安赛蜜（乙酰磺胺酸钾）"
CASES = [
    # -- one limit: over, at, under, in mg, g and kg ---------------------------------------
    Case(
        "acesulfame at the cake limit",
        "cakes",
        "安赛蜜",
        "50",
        "g",
        201,
        "within",
        within(ACE, "0.5", "g/kg", "0.5", ACE_CAKE),
    ),
    Case(
        "acesulfame over the cake limit",
        "cakes",
        "安赛蜜",
        "51",
        "g",
        422,
        "additive_over_limit",
        over(ACE, "0.51", "g/kg", "糕点", "0.5", ACE_CAKE),
    ),
    Case(
        "acesulfame under the cake limit",
        "cakes",
        "安赛蜜",
        "49",
        "g",
        201,
        "within",
        within(ACE, "0.49", "g/kg", "0.5", ACE_CAKE),
    ),
    Case(
        "acesulfame over, in kg",
        "cakes",
        "安赛蜜",
        "0.051",
        "kg",
        422,
        "additive_over_limit",
        over(ACE, "0.51", "g/kg", "糕点", "0.5", ACE_CAKE),
    ),
    Case(
        "acesulfame at, in mg",
        "cakes",
        "安赛蜜",
        "50000",
        "mg",
        201,
        "within",
        within(ACE, "0.5", "g/kg", "0.5", ACE_CAKE),
    ),
    Case(
        "acesulfame over, in mg",
        "cakes",
        "安赛蜜",
        "50001",
        "mg",
        422,
        "additive_over_limit",
        over(ACE, "0.50001", "g/kg", "糕点", "0.5", ACE_CAKE),
    ),
    Case("aspartame at the cake limit", "cakes", "阿斯巴甜", "170", "g", 201, "within"),
    Case(
        "aspartame over the cake limit",
        "cakes",
        "阿斯巴甜",
        "171",
        "g",
        422,
        "additive_over_limit",
        over("阿斯巴甜", "1.71", "g/kg", "糕点", "1.7", "阿斯巴甜（CNS 19.004） 07.02 糕点"),
    ),
    Case("sucralose at the bakery limit", "cakes", "三氯蔗糖", "25", "g", 201, "within"),
    Case(
        "sucralose over the bakery limit",
        "cakes",
        "蔗糖素",
        "26",
        "g",
        422,
        "additive_over_limit",
        over("三氯蔗糖", "0.26", "g/kg", "糕点", "0.25", "三氯蔗糖（CNS 19.016） 07.0 焙烤食品"),
    ),
    Case("propylene glycol at the cake limit", "cakes", "丙二醇", "0.3", "kg", 201, "within"),
    Case(
        "propylene glycol over the cake limit",
        "cakes",
        "丙二醇",
        "301",
        "g",
        422,
        "additive_over_limit",
        over("丙二醇", "3.01", "g/kg", "糕点", "3", "丙二醇（CNS 18.004） 07.02 糕点"),
    ),
    Case("natamycin at the cake limit", "cakes", "纳他霉素", "30", "g", 201, "within"),
    Case(
        "natamycin over the cake limit",
        "cakes",
        "纳他霉素",
        "31",
        "g",
        422,
        "additive_over_limit",
        over("纳他霉素", "0.31", "g/kg", "糕点", "0.3", "纳他霉素（CNS 17.030） 07.02 糕点"),
    ),
    Case("nisin at the cake limit", "cakes", "乳酸链球菌素", "30", "g", 201, "within"),
    Case(
        "L-cysteine at the steamed-bun limit",
        "steamed_dough",
        "L-半胱氨酸盐酸盐",
        "6",
        "g",
        201,
        "within",
    ),
    Case(
        "L-cysteine over the steamed-bun limit",
        "steamed_dough",
        "半胱氨酸盐酸盐",
        "7",
        "g",
        422,
        "additive_over_limit",
        over(
            "L-半胱氨酸盐酸盐",
            "0.07",
            "g/kg",
            "馒头类发酵面制品",
            "0.06",
            "L-半胱氨酸盐酸盐（CNS 13.003） 06.03.02.03 发酵面制品",
        ),
    ),
    Case(
        "xanthan gum under the wet-noodle limit",
        "dough_products",
        "黄原胶",
        "1",
        "kg",
        201,
        "within",
    ),
    Case(
        "acesulfame at the dried-tofu limit", "dried_tofu", "乙酰磺胺酸钾", "10", "g", 201, "within"
    ),
    Case(
        "acesulfame over the dried-tofu limit",
        "dried_tofu",
        "安赛蜜",
        "10.5",
        "g",
        422,
        "additive_over_limit",
        over(ACE, "0.21", "g/kg", "豆干类", "0.2", "安赛蜜（CNS 19.011） 04.04.01.02 豆干类"),
    ),
    Case(
        "nisin in cooked meat at its limit",
        "meat_products",
        "乳酸链球菌素",
        "25",
        "g",
        201,
        "within",
    ),
    Case(
        "calcium propionate at the tofu limit",
        "bean_products",
        "丙酸钙",
        "150",
        "g",
        201,
        "within",
        within(
            "丙酸及其钠盐、钙盐",
            "2.5",
            "g/kg",
            "2.5",
            "丙酸及其钠盐、钙盐（CNS 17.029、17.006、17.005） 04.04 豆类制品",
        ),
    ),
    Case(
        "calcium propionate over the tofu limit",
        "bean_products",
        "E282",
        "151",
        "g",
        422,
        "additive_over_limit",
    ),
    Case(
        "sodium propionate over the wet-noodle limit",
        "dough_products",
        "丙酸钠",
        "26",
        "g",
        422,
        "additive_over_limit",
        over(
            "丙酸及其钠盐、钙盐",
            "0.26",
            "g/kg",
            "面制品",
            "0.25",
            "丙酸及其钠盐、钙盐（CNS 17.029、17.006、17.005） 06.03.02.01 生湿面制品",
        ),
    ),
    # -- g/L: a wine's limit per litre; g/kg read at 1 kg/L --------------------------------
    Case(
        "natamycin at the wine limit (g/L)",
        "huangjiu",
        "纳他霉素",
        "1",
        "g",
        201,
        "within",
        within(
            "纳他霉素",
            "0.01",
            "g/L",
            "0.01",
            "纳他霉素（CNS 17.030） 15.03 发酵酒（15.03.01 葡萄酒除外）",
            "每升",
        ),
    ),
    Case(
        "natamycin over the wine limit (g/L)",
        "huangjiu",
        "纳他霉素",
        "1100",
        "mg",
        422,
        "additive_over_limit",
        over(
            "纳他霉素",
            "0.011",
            "g/L",
            "黄酒（含红曲酒）",
            "0.01",
            "纳他霉素（CNS 17.030） 15.03 发酵酒（15.03.01 葡萄酒除外）",
            "每升",
        ),
    ),
    Case("sucralose at the wine limit", "huangjiu", "三氯蔗糖", "65", "g", 201, "within"),
    Case(
        "sucralose over the wine limit",
        "huangjiu",
        "三氯蔗糖",
        "66",
        "g",
        422,
        "additive_over_limit",
    ),
    # -- not permitted in the category -----------------------------------------------------
    Case(
        "sodium benzoate in cakes",
        "cakes",
        "苯甲酸钠",
        "1",
        "g",
        422,
        "additive_not_permitted",
        BENZOIC_IN_CAKES,
    ),
    Case("benzoic acid in wine", "huangjiu", "E210", "1", "g", 422, "additive_not_permitted"),
    Case(
        "sodium benzoate in tofu by E-number",
        "bean_products",
        "E211",
        "1",
        "g",
        422,
        "additive_not_permitted",
    ),
    Case(
        "sodium benzoate in meatballs",
        "meat_products",
        "安息香酸钠",
        "1",
        "g",
        422,
        "additive_not_permitted",
    ),
    Case(
        "sodium benzoate in noodles",
        "dough_products",
        "sodium benzoate",
        "1",
        "g",
        422,
        "additive_not_permitted",
    ),
    Case(
        "no rule for tartrazine in wine",
        "huangjiu",
        "柠檬黄",
        "1",
        "g",
        422,
        "no_rule_for_category",
        "标准表中没有柠檬黄及其铝色淀在黄酒（含红曲酒）中的使用规定，须由监管部门核实后才能记录。",
    ),
    # -- unverified rows: recorded, flagged for review, never refused by their number --------
    Case(
        "500 g potassium sorbate in 100 kg of cake (unverified 1.0 g/kg)",
        "cakes",
        "山梨酸钾",
        "500",
        "g",
        201,
        "review",
    ),
    Case("saccharin in cakes (unverified row)", "cakes", "糖精钠", "1", "g", 201, "review"),
    Case(
        "5 kg tartrazine in 100 kg of cake (unverified row)",
        "cakes",
        "柠檬黄",
        "5",
        "kg",
        201,
        "review",
    ),
    Case(
        "alum in steamed buns (unverified row)", "steamed_dough", "明矾", "10", "g", 201, "review"
    ),
    # -- no number: quantum satis and residue limits ----------------------------------------
    Case(
        "nigari in tofu (按生产需要适量使用)",
        "bean_products",
        "盐卤（氯化镁）",
        "0.8",
        "kg",
        201,
        "permitted",
    ),
    Case("calcium chloride in tofu", "bean_products", "氯化钙", "0.5", "kg", 201, "permitted"),
    Case("baking soda in cakes", "cakes", "小苏打", "0.3", "kg", 201, "permitted"),
    Case(
        "alum in cakes: a residue limit, left to the tests",
        "cakes",
        "硫酸铝钾",
        "10",
        "g",
        201,
        "residue",
    ),
    # -- non-food substances: refused everywhere, reported ----------------------------------
    Case(
        "Sudan red",
        "cakes",
        "苏丹红",
        "1",
        "g",
        422,
        "non_food_substance",
        "“苏丹红”是非食用物质，任何食品中都不得添加（依据：食品中可能违法添加的非食用物质名单 "
        "第1—5批汇总 表一 序号2（可能添加：辣椒粉、含辣椒类的食品））；本次记录已报告监管部门。",
    ),
    Case("melamine", "bean_products", "三聚氰胺", "1", "g", 422, "non_food_substance"),
    Case("borax in meatballs", "meat_products", "硼砂", "5", "g", 422, "non_food_substance"),
    Case(
        "rongalite by pinyin", "dough_products", "diaobaikuai", "5", "g", 422, "non_food_substance"
    ),
    Case("poppy husk", "meat_products", "罂粟壳", "5", "g", 422, "non_food_substance"),
    Case(
        "borax inside a longer name",
        "dough_products",
        "硼砂粉（增筋）",
        "5",
        "g",
        422,
        "non_food_substance",
    ),
    Case(
        "Sudan red inside a longer name",
        "meat_products",
        "苏丹红一号染料",
        "1",
        "g",
        422,
        "non_food_substance",
    ),
    Case(
        "industrial formaldehyde", "bean_products", "福尔马林", "5", "g", 422, "non_food_substance"
    ),
    # -- names: alias, E-number, pinyin, stray spaces, full width ---------------------------
    Case("E-number with a space", "cakes", "E 950", "10", "g", 201, "within"),
    Case("INS number", "cakes", "INS 951", "10", "g", 201, "within"),
    Case("pinyin", "cakes", "ansaimi", "10", "g", 201, "within"),
    Case("stray spaces", "cakes", " 安 赛 蜜 ", "10", "g", 201, "within"),
    Case("full width", "cakes", "ＡＳＰＡＲＴＡＭＥ", "10", "g", 201, "within"),
    Case(
        "unknown substance",
        "cakes",
        "神秘增香粉",
        "10",
        "g",
        422,
        "unknown_substance",
        "“神秘增香粉”不在本平台的添加剂目录中，须由监管部门核实并添加后才能记录。",
    ),
    # -- bad amounts ------------------------------------------------------------------------
    Case(
        "absurd: more than the batch",
        "cakes",
        "安赛蜜",
        "100",
        "kg",
        422,
        "additive_amount_absurd",
        "添加剂用量 100 kg 不小于批次总量 100 kg，请核对。",
    ),
    Case(
        "a volume for a limited additive",
        "cakes",
        "安赛蜜",
        "10",
        "ml",
        422,
        "additive_unit_not_mass",
    ),
]


# Exact sentences for refusals listed above without one (from the same rows).
MESSAGES = {
    "sucralose over the wine limit": over(
        "三氯蔗糖",
        "0.66",
        "g/kg",
        "黄酒（含红曲酒）",
        "0.65",
        "三氯蔗糖（CNS 19.016） 15.03 发酵酒（15.03.01 葡萄酒除外）",
    ),
    "calcium propionate over the tofu limit": over(
        "丙酸及其钠盐、钙盐",
        "2.516667",
        "g/kg",
        "豆制品",
        "2.5",
        "丙酸及其钠盐、钙盐（CNS 17.029、17.006、17.005） 04.04 豆类制品",
    ),
    "benzoic acid in wine": "黄酒（含红曲酒）中不得使用苯甲酸及其钠盐"
    "（依据：GB 2760-2024 表A.1 苯甲酸及其钠盐（CNS 17.001、17.002））。",
    "melamine": "“蛋白精、三聚氰胺”是非食用物质，任何食品中都不得添加（依据：食品中可能违法添加的"
    "非食用物质名单 第1—5批汇总 表一 序号4（可能添加：乳及乳制品））；本次记录已报告监管部门。",
    "borax in meatballs": "“硼酸与硼砂”是非食用物质，任何食品中都不得添加"
    "（依据：食品中可能违法添加的非食用物质名单 第1—5批汇总 表一 序号5"
    "（可能添加：腐竹、肉丸、凉粉、凉皮、面条、饺子皮））；"
    "本次记录已报告监管部门。",
    "a volume for a limited additive": "安赛蜜（乙酰磺胺酸钾）有最大使用量，"
    "用量请以 mg、g 或 kg 填写。",
}
for _case in CASES:
    _case.message = MESSAGES.get(_case.label, _case.message)
