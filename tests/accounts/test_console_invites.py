"""Invite codes issued from the console (the rules live in backend/accounts/invites.py)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from backend.accounts import invites
from backend.accounts.models import InviteCode, MemberRole, Role
from backend.accounts.tokens import hash_secret
from backend.registry.models import WorkshopStatus
from tests.factories import WorkshopFactory
from tests.support.console import logged_in, submit, text


def test_regulator_issues_a_code_shown_once(client, db):
    user = logged_in(client)
    workshop = WorkshopFactory()
    assert "发放邀请码" in text(client.get(f"/console/registry/{workshop.id}"))
    url = f"/console/registry/{workshop.id}/invites/new"
    response = submit(client, url, {"role": "owner", "days": "3"})
    assert response.status_code == 201
    page = text(response)
    shown = re.search(r'<p class="code">([A-Z0-9]{4}) ([A-Z0-9]{4})</p>', page)
    assert shown, page[-3000:]
    code = shown.group(1) + shown.group(2)
    assert invites.well_formed(code)
    invite = db.session.scalar(select(InviteCode))
    assert invite.code_hash == hash_secret(code)  # only the hash is kept
    assert invite.role is MemberRole.OWNER
    assert invite.workshop_id == workshop.id and invite.created_by_id == user.id
    assert response.headers["Cache-Control"] == "no-store"
    assert code not in text(client.get(f"/console/registry/{workshop.id}"))


def test_bad_invite_requests_are_refused_clearly(client, db):
    logged_in(client)
    workshop = WorkshopFactory()
    url = f"/console/registry/{workshop.id}/invites/new"
    for data, status, message in (
        ({"role": "owner", "days": "99"}, 422, "有效期须为 1 至 30 天"),
        ({"role": "owner", "days": "abc"}, 422, "有效期须为 1 至 30 天"),
        ({"role": "king", "days": "7"}, 422, "未知的身份"),
    ):
        response = submit(client, url, data)
        assert response.status_code == status
        assert message in text(response)
    workshop.status = WorkshopStatus.CANCELLED
    db.session.flush()
    response = submit(client, url, {"role": "staff", "days": "7"})
    assert response.status_code == 409
    assert "已注销或已升级为企业" in text(response)
    assert db.session.scalar(select(func.count(InviteCode.id))) == 0


def test_inspectors_cannot_issue_invites(client, db):
    logged_in(client, Role.INSPECTOR)
    workshop = WorkshopFactory()
    assert "发放邀请码" not in text(client.get(f"/console/registry/{workshop.id}"))
    url = f"/console/registry/{workshop.id}/invites/new"
    assert client.get(url).status_code == 403
    response = submit(client, "/console/registry/", {"role": "staff", "days": "7"}, action=url)
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(InviteCode.id))) == 0
