import pytest

from backend.batches.models import TRANSITIONS
from backend.batches.models import BatchState as S
from backend.batches.states import change_state
from backend.core.errors import Conflict
from tests.factories import BatchFactory, UserFactory


def test_a_batch_walks_draft_to_released(db):
    batch, user = BatchFactory(), UserFactory()
    for state in (S.IN_PRODUCTION, S.PENDING_RELEASE, S.RELEASED):
        change_state(batch, state, by_user_id=user.id)
    assert batch.state is S.RELEASED
    assert batch.released_at is not None
    assert [(c.from_state, c.to_state) for c in batch.state_changes] == [
        (S.DRAFT, S.IN_PRODUCTION),
        (S.IN_PRODUCTION, S.PENDING_RELEASE),
        (S.PENDING_RELEASE, S.RELEASED),
    ]


def test_hold_then_release_or_recall(db):
    batch = BatchFactory()
    for state in (S.IN_PRODUCTION, S.PENDING_RELEASE, S.RELEASED):
        change_state(batch, state)
    change_state(batch, S.HELD, reason="快检阳性")
    assert batch.hold_reason == "快检阳性"
    change_state(batch, S.RELEASED, reason="实验室复检合格")
    assert batch.hold_reason == ""
    change_state(batch, S.RECALLED, reason="召回")
    assert not TRANSITIONS[S.RECALLED]
    with pytest.raises(Conflict) as error:
        change_state(batch, S.RELEASED)
    assert error.value.slug == "batch_state_conflict"


@pytest.mark.parametrize("target", [S.RELEASED, S.HELD, S.RECALLED, S.PENDING_RELEASE, S.DRAFT])
def test_a_draft_cannot_skip_ahead(db, target):
    batch = BatchFactory()
    assert not batch.can_move_to(target)
    with pytest.raises(Conflict):
        change_state(batch, target)
    assert batch.state is S.DRAFT
    assert batch.state_changes == []


def test_the_model_moves_itself_and_keeps_the_step(db):
    batch, user = BatchFactory(), UserFactory()
    assert batch.can_move_to(S.IN_PRODUCTION)
    change = batch.move_to(S.IN_PRODUCTION, by_user_id=user.id, reason="开工")
    assert batch.state is S.IN_PRODUCTION
    assert (change.from_state, change.to_state, change.reason) == (S.DRAFT, S.IN_PRODUCTION, "开工")
    assert change.changed_by_id == user.id and change in batch.state_changes
    with pytest.raises(Conflict):
        batch.move_to(S.RELEASED)
