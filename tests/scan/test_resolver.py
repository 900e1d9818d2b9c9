"""The GS1 Digital Link resolver: 307 to the default link and to each link type, 404 for a
type we lack or an item we do not know, 400 for malformed URIs, the RFC 9264 linkset,
/.well-known/gs1resolver and the language chosen by Accept-Language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.cameras.models import Camera, CameraArea
from backend.codes.models import ScanChannel, ScanEvent, UnitCode
from backend.scan import recorder
from tests.support.trace_chain import chain_fixture  # noqa: F401  (the `chain` fixture)

GTIN = "06941234567027"
LOT = "FY-20261105-01"
HOST = "https://yipin.test"


def code_of(db, batch):
    return db.session.scalar(
        select(UnitCode.code).where(UnitCode.batch_id == batch.id).order_by(UnitCode.serial)
    )


def test_default_link_of_a_unit_code_is_the_scan_page(client, db, chain):
    code = code_of(db, chain.tofu_a)
    response = client.get(f"/01/{GTIN}/10/{LOT}/21/{code}")
    assert response.status_code == 307
    assert response.headers["Location"] == f"/t/{code}?via=dl"
    assert 'rel="linkset"' in response.headers["Link"]
    assert "Accept-Language" in response.headers["Vary"]
    # Without the lot, too; the scan page then counts a Digital Link scan.
    assert client.get(f"/01/{GTIN}/21/{code}").status_code == 307
    page = client.get(f"/01/{GTIN}/21/{code}", follow_redirects=True)
    assert page.status_code == 200 and LOT in page.get_data(as_text=True)
    recorder.flush()
    assert db.session.scalars(select(ScanEvent.channel)).all() == [ScanChannel.DIGITAL_LINK]


def test_default_links_of_a_lot_and_a_product(client, db, chain):
    response = client.get(f"/01/{GTIN}/10/{LOT}")
    assert response.status_code == 307
    assert response.headers["Location"] == f"/lot/{GTIN}/{LOT}"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="status"' in html and 'id="trace"' in html and "HD-1" in html and "LS-1" in html
    product = client.get(f"/01/{GTIN}")
    assert product.status_code == 307
    assert product.headers["Location"] == f"/products/{chain.tofu_a.product_id}"
    # A GTIN-13 is padded to 14 digits.
    assert client.get(f"/01/{GTIN[1:]}").status_code == 307


@pytest.mark.parametrize(
    ("link_type", "target"),
    [
        ("gs1:pip", "/products/{product}"),
        ("gs1:certificationInfo", "/lot/{gtin}/{lot}#certification"),
        ("gs1:traceability", "/lot/{gtin}/{lot}#trace"),
        ("gs1:recallStatus", "/lot/{gtin}/{lot}#status"),
        ("gs1:epcis", "/api/v1/trace/epcis?batch={lot}"),
        ("https://gs1.org/voc/recallStatus", "/lot/{gtin}/{lot}#status"),
        ("gs1:defaultLink", "/lot/{gtin}/{lot}"),
    ],
)
def test_each_link_type(client, chain, link_type, target):
    response = client.get(f"/01/{GTIN}/10/{LOT}", query_string={"linkType": link_type})
    assert response.status_code == 307, link_type
    expected = target.format(product=chain.tofu_a.product_id, gtin=GTIN, lot=LOT)
    assert response.headers["Location"] == expected


def test_related_video_only_when_the_workshop_has_cameras(client, db, chain):
    url = f"/01/{GTIN}/10/{LOT}?linkType=gs1:relatedVideo"
    assert client.get(url).status_code == 404
    db.session.add(
        Camera(
            workshop_id=chain.tofu_a.workshop_id,
            area=CameraArea.PRODUCTION,
            name="生产加工区",
            stream_name="fy-production",
            stream_key="k",
        )
    )
    db.session.flush()
    response = client.get(url)
    assert response.status_code == 307
    assert response.headers["Location"] == f"/live/workshops/{chain.tofu_a.workshop_id}"


def test_link_types_we_do_not_have_are_404(client, chain):
    for link_type in ("gs1:traceability", "gs1:recallStatus", "gs1:epcis", "gs1:smpc"):
        response = client.get(f"/01/{GTIN}", query_string={"linkType": link_type})
        assert response.status_code == 404, link_type
    response = client.get(f"/01/{GTIN}/10/{LOT}?linkType=gs1:hasRetailers")
    assert response.status_code == 404


def test_unknown_items_are_404(client, db, chain):
    code = code_of(db, chain.tofu_a)
    other = code_of(db, chain.tofu_b)
    for path in (
        "/01/09506000134352",  # valid check digit, not ours
        f"/01/{GTIN}/10/NO-SUCH-LOT",
        f"/01/{GTIN}/10/FY-20261106-01/21/{code}",  # the code is of another batch
        f"/01/{GTIN}/21/{'0' * 17}",
        f"/01/{GTIN}/21/NOTACODE",
        f"/01/06941234567010/10/{LOT}/21/{other}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "12315" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/01/06941234567028",  # wrong check digit
        "/01/0694123456702",  # 13 digits with a wrong check digit
        "/01/123",  # too short
        "/01/0694123456702X",  # not digits
        f"/01/{GTIN}/21/ABC/10/{LOT}",  # qualifiers out of order
        f"/01/{GTIN}/10/{LOT}/10/{LOT}",  # repeated qualifier
        f"/01/{GTIN}/99/X",  # unknown qualifier
        f"/01/{GTIN}/10",  # qualifier without a value
        f"/01/{GTIN}/10/{'L' * 41}",  # value too long
        f"/01/{GTIN}/10/%E6%89%B9",  # outside GS1's character set 82
    ],
)
def test_malformed_uris_are_400(client, chain, path):
    response = client.get(path)
    assert response.status_code == 400, path
    assert response.mimetype == "text/html"


def test_an_unknown_link_type_syntax_is_400(client, chain):
    assert client.get(f"/01/{GTIN}?linkType=pip").status_code == 400


def test_linkset_on_accept_and_on_link_type(client, db, chain):
    code = code_of(db, chain.tofu_a)
    url = f"/01/{GTIN}/10/{LOT}/21/{code}"
    by_accept = client.get(url, headers={"Accept": "application/linkset+json"})
    by_query = client.get(url + "?linkType=linkset")
    for response in (by_accept, by_query):
        assert response.status_code == 200
        assert response.mimetype == "application/linkset+json"
        body = response.get_json(force=True)
        (context,) = body["linkset"]
        assert context["anchor"] == HOST + url
        voc = "https://gs1.org/voc/"
        assert context[voc + "defaultLink"][0]["href"] == f"{HOST}/t/{code}?via=dl"
        for kind in ("pip", "certificationInfo", "traceability", "recallStatus", "epcis"):
            (link,) = context[voc + kind]
            assert link["href"].startswith(HOST) and link["title"] and link["hreflang"]
        assert voc + "relatedVideo" not in context
    assert by_accept.get_json(force=True) == by_query.get_json(force=True)
    # A browser's ordinary Accept still gets the redirect.
    assert client.get(url, headers={"Accept": "text/html,*/*;q=0.8"}).status_code == 307


def test_language_follows_accept_language(client, chain):
    url = f"/01/{GTIN}/10/{LOT}?linkType=linkset"
    chinese = client.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json(force=True)
    english = client.get(url, headers={"Accept-Language": "en-US,en;q=0.9"}).get_json(force=True)
    pip = "https://gs1.org/voc/pip"
    assert chinese["linkset"][0][pip][0]["hreflang"] == ["zh-CN"]
    assert chinese["linkset"][0][pip][0]["title"] == "产品信息"
    assert english["linkset"][0][pip][0]["hreflang"] == ["en"]
    assert english["linkset"][0][pip][0]["href"].endswith("?lang=en")
    redirect = client.get(f"/01/{GTIN}/10/{LOT}", headers={"Accept-Language": "en"})
    assert redirect.status_code == 307 and redirect.headers["Location"].endswith("?lang=en")


def test_well_known_description(client, db):
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    body = response.get_json()
    assert body["resolverRoot"] == HOST
    assert body["supportedPrimaryKeys"] == ["01"]
    kinds = {item["linkType"] for item in body["supportedLinkType"]}
    assert {"pip", "certificationInfo", "traceability", "recallStatus", "relatedVideo"} <= kinds
    assert "epcis" in kinds


def test_lot_page_of_an_unknown_batch_is_404(client, chain):
    assert client.get(f"/lot/{GTIN}/NOPE").status_code == 404
    assert client.get("/lot/123/NOPE").status_code == 404
