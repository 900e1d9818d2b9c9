"""The mini-program code image, through the real wechatpy client and a fake WeChat."""

import socket

import pytest
from sqlalchemy import select

from backend.accounts.models import MemberRole, Role, WorkshopMembership
from backend.accounts.tokens import issue_token
from backend.batches.models import BatchState
from backend.batches.states import change_state
from backend.codes.models import UnitCode
from backend.codes.services import issue_codes
from tests.factories import BatchFactory, UserFactory, WorkshopFactory


@pytest.fixture()
def setup(db):
    batch = BatchFactory()
    change_state(batch, BatchState.IN_PRODUCTION)
    issue_codes(batch, 2)
    owner = UserFactory(role=Role.OPERATOR)
    db.session.add(
        WorkshopMembership(user_id=owner.id, workshop_id=batch.workshop_id, role=MemberRole.STAFF)
    )
    db.session.flush()
    code = db.session.scalar(select(UnitCode.code).where(UnitCode.batch_id == batch.id))
    return code, {"Authorization": f"Bearer {issue_token(owner)}"}


def test_without_wechat_settings_the_answer_says_so(client, setup):
    code, auth = setup
    response = client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth)
    assert response.status_code == 503
    assert response.get_json()["error"] == "wechat_not_configured"


def test_the_image_comes_from_wechat_with_the_code_as_scene(client, setup, fake_wechat):
    code, auth = setup
    response = client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    (call,) = fake_wechat.calls_to("/wxa/getwxacodeunlimit")
    assert call["body"]["scene"] == code and call["body"]["page"] == "pages/scan/index"
    assert call["query"]["access_token"] == fake_wechat.tokens[0]
    # The access token is kept and reused, not fetched per call.
    assert client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth).status_code == 200
    assert len(fake_wechat.calls_to("/cgi-bin/token")) == 1


def test_an_expired_token_is_fetched_again(client, setup, fake_wechat):
    code, auth = setup
    client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth)
    fake_wechat.tokens.clear()  # WeChat forgot our token
    assert client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth).status_code == 200
    assert len(fake_wechat.calls_to("/cgi-bin/token")) == 2


@pytest.mark.parametrize(
    "errcode, status, slug",
    [(45009, 429, "wechat_quota"), (41030, 422, "wechat_bad_page"), (99999, 502, "wechat_error")],
)
def test_wechat_errors_become_clear_api_errors(client, setup, fake_wechat, errcode, status, slug):
    code, auth = setup
    client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth)  # fetch a token first
    fake_wechat.fail_next(errcode)
    response = client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == slug and body["errors"] == {"errcode": errcode}


def test_an_unreachable_wechat_is_a_503(client, setup, app, monkeypatch):
    code, auth = setup
    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(app.config, "WECHAT_APPID", "wx")
    monkeypatch.setitem(app.config, "WECHAT_SECRET", "s")
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", f"http://127.0.0.1:{port}/")
    app.extensions.pop("wechat_storage", None)
    response = client.get(f"/api/v1/codes/{code}/wxacode.png", headers=auth)
    assert response.status_code == 503 and response.get_json()["error"] == "wechat_unreachable"
    app.extensions.pop("wechat_storage", None)


def test_only_the_workshops_people_get_the_image(client, setup, fake_wechat, db):
    code, _ = setup
    stranger = UserFactory(role=Role.OPERATOR)
    db.session.add(
        WorkshopMembership(
            user_id=stranger.id, workshop_id=WorkshopFactory().id, role=MemberRole.OWNER
        )
    )
    db.session.flush()
    headers = {"Authorization": f"Bearer {issue_token(stranger)}"}
    assert client.get(f"/api/v1/codes/{code}/wxacode.png", headers=headers).status_code == 403
    assert client.get(f"/api/v1/codes/{code}/wxacode.png").status_code == 401
    assert fake_wechat.calls == []
