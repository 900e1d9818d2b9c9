"""The GS1 Digital Link resolver for products with a GTIN.

``/01/<gtin>[/22/<cpv>][/10/<lot>][/21/<serial>]`` (GS1 Digital Link 1.2, qualifiers in the
order 22, 10, 21, each at most once, the GTIN with its mod-10 check digit) answers:

- 307 to the default link (the consumer view: the scan page for a unit code, the lot page for
  a batch, the product page for a GTIN alone), with a ``Link`` header naming the linkset;
- ``?linkType=gs1:<type>`` (or the full ``https://gs1.org/voc/<type>``): 307 to that link,
  404 when we have none of that type for this item;
- an RFC 9264 linkset (``application/linkset+json``) on ``Accept: application/linkset+json``
  or ``?linkType=linkset`` (or ``all``);
- 400 for a malformed URI (bad GTIN or check digit, unknown or misordered qualifiers),
  404 for a well-formed one we do not know.

Titles and ``hreflang`` follow ``Accept-Language`` (Chinese first). ``/.well-known/gs1resolver``
describes the resolver. The lot page ``/lot/<gtin>/<lot>`` shows a batch without a unit code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from sqlalchemy import exists, select

from backend.batches.models import Batch, BatchState
from backend.cameras.models import Camera
from backend.codes.gs1 import is_valid_gtin14
from backend.codes.models import UnitCode
from backend.codes.services import parse_code
from backend.codes.urls import public_url
from backend.core.errors import ValidationError
from backend.core.i18n import N_
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.registry.models import Product
from backend.scan import rate_limited, scan_path
from backend.trace import graph

blueprint = Blueprint("resolver", __name__, template_folder="templates")

VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
QUALIFIERS = ("22", "10", "21")  # the order GS1 Digital Link requires after /01/
MAX_LENGTH = {"22": 20, "10": 40, "21": 40}
# GS1 AI encodable character set 82, the characters allowed in these values.
CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
GTIN = re.compile(r"[0-9]{8}|[0-9]{12,14}")

LINK_TITLES = {
    "defaultLink": N_("消费者查询页"),
    "pip": N_("产品信息"),
    "certificationInfo": N_("检测结果与监督检查"),
    "traceability": N_("原料追溯"),
    "recallStatus": N_("召回与暂控状态"),
    "relatedVideo": N_("明厨亮灶直播"),
    "epcis": N_("EPCIS 追溯事件（监管人员）"),
}


class Unknown(Exception):
    """A well-formed Digital Link URI for something we do not know (answered with 404)."""


class Malformed(ValidationError):
    """A Digital Link URI that breaks GS1's syntax rules (answered with 400)."""

    status_code = 400
    slug = "malformed_digital_link"


@dataclass
class Item:
    """What a Digital Link URI names: a product, maybe one of its batches, maybe one code."""

    gtin: str
    product: Product
    batch: Batch | None = None
    code: str | None = None

    @property
    def path(self) -> str:
        """The canonical Digital Link path of the item."""
        path = f"/01/{self.gtin}"
        if self.batch is not None:
            path += f"/10/{quote(self.batch.batch_no, safe='')}"
        if self.code is not None:
            path += f"/21/{self.code}"
        return path


def parse(path: str) -> dict[str, str]:
    """The GTIN-14 and qualifiers of a Digital Link path after ``/01/`` (or Malformed)."""
    parts = path.strip("/").split("/")
    if not parts or not parts[0]:
        raise Malformed(_("缺少 GTIN。"))
    gtin = parts[0]
    if not GTIN.fullmatch(gtin):
        raise Malformed(_("GTIN 须为 8、12、13 或 14 位数字。"))
    gtin = gtin.zfill(14)
    if not is_valid_gtin14(gtin):
        raise Malformed(_("GTIN 校验位错误。"))
    rest = parts[1:]
    if len(rest) % 2:
        raise Malformed(_("链接格式错误：限定符缺少取值。"))
    found = {"01": gtin}
    last = -1
    for key, raw in zip(rest[::2], rest[1::2], strict=True):
        if key not in QUALIFIERS:
            raise Malformed(_("不支持的限定符 %(ai)s。", ai=key[:10]))
        position = QUALIFIERS.index(key)
        if position <= last:
            raise Malformed(_("限定符顺序错误：须按 22、10、21 的顺序且各出现一次。"))
        last = position
        value = unquote(raw)
        if not value or len(value) > MAX_LENGTH[key] or not CSET82.fullmatch(value):
            raise Malformed(_("限定符 %(ai)s 的取值无效。", ai=key))
        found[key] = value
    return found


def lookup(parts: dict[str, str]) -> Item:
    """The product, batch and code named by *parts*; 404 when we do not know them."""
    product = db.session.scalar(select(Product).where(Product.gtin == parts["01"]))
    if product is None:
        raise Unknown
    item = Item(parts["01"], product)
    if "10" in parts:
        item.batch = db.session.scalar(
            select(Batch).where(Batch.product_id == product.id, Batch.batch_no == parts["10"])
        )
        if item.batch is None:
            raise Unknown
    if "21" in parts:
        try:
            code_text = parse_code(parts["21"], strict=True)
        except ValidationError:
            raise Unknown from None
        code = db.session.scalar(select(UnitCode).where(UnitCode.code == code_text))
        if code is None or code.batch.product_id != product.id:
            raise Unknown
        if item.batch is not None and code.batch_id != item.batch.id:
            raise Unknown
        item.batch = code.batch
        item.code = code.code
    return item


def not_found(message: str | None = None):
    """The "not from this platform" page, 404."""
    return render_template("scan/not_found.html", message=message), 404


def links(item: Item) -> dict[str, str]:
    """Link type → target for *item* (only the types we really have)."""
    out = {}
    lang = _lang_query()
    if item.code is not None:
        out["defaultLink"] = url_for("scan_page.by_code", code=item.code, via="dl", **lang)
    elif item.batch is not None:
        out["defaultLink"] = _lot_url(item, **lang)
    else:
        out["defaultLink"] = url_for("public.product", product_id=item.product.id, **lang)
    out["pip"] = url_for("public.product", product_id=item.product.id, **lang)
    if item.batch is not None:
        out["certificationInfo"] = _lot_url(item, **lang) + "#certification"
        out["traceability"] = _lot_url(item, **lang) + "#trace"
        out["recallStatus"] = _lot_url(item, **lang) + "#status"
        out["epcis"] = url_for("trace.EpcisDocument", batch=item.batch.batch_no)
    else:
        out["certificationInfo"] = url_for(
            "public.workshop", workshop_id=item.product.workshop_id, **lang
        )
    has_camera = db.session.scalar(
        select(exists().where(Camera.workshop_id == item.product.workshop_id))
    )
    if has_camera:
        out["relatedVideo"] = url_for(
            "cameras.workshop", workshop_id=item.product.workshop_id, **lang
        )
    return out


def _lot_url(item: Item, **query) -> str:
    """The lot page of the item's batch."""
    return url_for("resolver.lot_page", gtin=item.gtin, batch_no=item.batch.batch_no, **query)


def _lang_query() -> dict:
    """``lang=en`` on the targets when the visitor reads English (Chinese is the default)."""
    return {"lang": "en"} if str(get_locale()) == "en" else {}


def _link_type(value: str) -> str | None:
    """``gs1:pip`` or ``https://gs1.org/voc/pip`` → ``pip``; ``linkset``/``all`` stay."""
    value = (value or "").strip()
    if value in ("linkset", "all"):
        return "linkset"
    if value.startswith("gs1:"):
        return value[4:]
    if value.startswith(VOC):
        return value[len(VOC) :]
    return None


def _wants_linkset() -> bool:
    """Whether the client asked for the linkset in its Accept header."""
    best = request.accept_mimetypes.best_match([LINKSET_TYPE, "application/json", "text/html"])
    return best == LINKSET_TYPE and request.accept_mimetypes[LINKSET_TYPE] > 0


def linkset(item: Item, targets: dict[str, str]) -> dict:
    """The RFC 9264 linkset of *item*: one context object keyed by GS1 link-type IRIs."""
    language = "en" if str(get_locale()) == "en" else "zh-CN"
    context = {"anchor": public_url(item.path)}
    for kind, target in targets.items():
        context[VOC + kind] = [
            {
                "href": public_url(target),
                "title": _(LINK_TITLES[kind]),
                "hreflang": [language],
                "type": "application/ld+json" if kind == "epcis" else "text/html",
            }
        ]
    return {"linkset": [context]}


def _headers(item: Item) -> dict:
    """Link to the linkset, and Vary on what chose the answer."""
    anchor = public_url(item.path)
    return {
        "Link": f'<{anchor}?linkType=linkset>; rel="linkset"; type="{LINKSET_TYPE}"',
        "Vary": "Accept, Accept-Language",
    }


@blueprint.get("/01/<path:rest>")
@rate_limited
def resolve(rest: str):
    """Resolve a GS1 Digital Link URI (see the module's docstring)."""
    try:
        item = lookup(parse(rest))
    except Unknown:
        return not_found()
    targets = links(item)
    wanted = request.args.get("linkType")
    kind = _link_type(wanted) if wanted is not None else None
    if wanted is not None and kind is None:
        raise Malformed(_("不支持的 linkType。"))
    if kind == "linkset" or (kind is None and _wants_linkset()):
        response = jsonify(linkset(item, targets))
        response.mimetype = LINKSET_TYPE
        response.headers.update(_headers(item))
        return response
    kind = kind or "defaultLink"
    if kind not in targets:
        return not_found(_("此产品没有该类型的链接。"))
    response = redirect(targets[kind], code=307)
    response.headers.update(_headers(item))
    return response


@blueprint.get("/lot/<gtin>/<path:batch_no>")
def lot_page(gtin: str, batch_no: str):
    """A batch of a product (the default link of a lot-level Digital Link)."""
    try:
        item = lookup(parse(f"{gtin}/10/{quote(batch_no, safe='')}"))
    except (Malformed, Unknown):
        return not_found()
    view = scan_path().batch_view(item.batch.id)
    trace = graph.backward(item.batch)
    return render_template(
        "resolver/lot.html",
        v=view,
        batch=item.batch,
        trace=trace,
        alert=item.batch.state in (BatchState.HELD, BatchState.RECALLED),
        recalled=item.batch.state is BatchState.RECALLED,
    )


@blueprint.get("/.well-known/gs1resolver")
def well_known():
    """The resolver's description (GS1-Conformant resolver standard)."""
    root = public_url("")
    body = {
        "name": current_app.config.get("RESOLVER_NAME", "Yipin 一品一码"),
        "resolverRoot": root,
        "supportedPrimaryKeys": ["01"],
        "supportedQualifiers": {"01": ["22", "10", "21"]},
        "linkTypeDefaultCanBeLinkset": False,
        "supportedLinkType": [
            {"namespace": VOC, "prefix": "gs1:", "linkType": kind} for kind in LINK_TITLES
        ],
        "linksetMediaType": LINKSET_TYPE,
        "supportedLanguages": list(current_app.config["LANGUAGES"]),
    }
    return Response(
        _json(body), mimetype="application/json", headers={"Access-Control-Allow-Origin": "*"}
    )


def _json(body: dict) -> str:
    """Pretty JSON with Chinese kept readable."""
    import json

    return json.dumps(body, ensure_ascii=False, indent=2)
