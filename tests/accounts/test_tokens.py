"""The bearer token's user, from one Core statement, is the session's own User.

``authenticate`` reads the user's columns and the token's state together and puts the user
in the session as an ORM load would: the same object for the same row, persistent and clean,
its changes flushed as updates and its relationships loaded on demand.
"""

from __future__ import annotations

from sqlalchemy import event, inspect

from backend.accounts.models import User
from backend.accounts.tokens import authenticate, issue_token
from tests.factories import UserFactory, WorkshopMembershipFactory


def test_the_users_row_becomes_the_sessions_user(db, shop):
    user = UserFactory(display_name="清洁工")
    WorkshopMembershipFactory(user=user, workshop_id=shop.workshop.id)
    secret = issue_token(user)
    db.session.commit()
    user_id, workshop_id = user.id, shop.workshop.id
    db.session.expunge_all()  # as in a new request's session

    found = authenticate(secret)
    state = inspect(found)
    assert state.persistent and not state.modified and not state.expired_attributes
    assert (found.id, found.display_name, found.role, found.active) == (
        user_id,
        "清洁工",
        user.role,
        True,
    )
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert db.session.get(User, user_id) is found  # no statement: it is held
        assert sent == []
        assert [m.workshop_id for m in found.memberships] == [workshop_id]  # lazy load
        found.display_name = "改名"
        db.session.flush()
        assert any(s.lstrip().upper().startswith("UPDATE USERS") for s in sent)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(User, user_id).display_name == "改名"


def test_a_user_the_session_holds_is_that_object_refreshed(db, shop):
    user = UserFactory(display_name="旧名")
    secret = issue_token(user)
    db.session.commit()  # expires the held user
    assert inspect(user).expired_attributes
    found = authenticate(secret)
    assert found is user
    columns = {attribute.key for attribute in inspect(User).column_attrs}
    assert not inspect(user).unloaded & columns  # its columns filled in from the row
    assert user.display_name == "旧名"
