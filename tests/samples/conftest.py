"""Fixtures of the samples tests: the people who take samples and decide on batches."""

import pytest

from tests.factories import (
    InspectorFactory,
    RegulatorFactory,
)


@pytest.fixture()
def people(db):
    """An inspector of the rapid-test vehicle, a lab inspector and a regulator."""

    class People:
        vehicle = InspectorFactory(display_name="快检车检验员")
        lab = InspectorFactory(display_name="实验室检验员")
        regulator = RegulatorFactory()

    return People
