"""The registry helper: register, look up, refuse duplicates, and name the known entries on a miss."""

from __future__ import annotations

import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.registry import Registry


def test_register_returns_the_object_unchanged():
    things: Registry[type] = Registry("thing")

    @things.register("b")
    class B:
        pass

    assert B.__name__ == "B"  # the decorator hands the class back, not a wrapper
    assert things.get("b") is B


def test_add_names_sorts_and_contains():
    things: Registry[int] = Registry("thing")
    assert things.add("c", 3) == 3
    things.add("a", 1)
    things.add("b", 2)
    assert things.names() == ["a", "b", "c"]
    assert len(things) == 3
    assert "a" in things and "z" not in things
    assert things.get("a") == 1


@pytest.mark.parametrize("how", ["add", "register"])
def test_a_name_registered_twice_is_a_value_error(how):
    things: Registry[int] = Registry("thing")
    things.add("x", 1)
    with pytest.raises(ValueError, match="^thing 'x' registered twice$"):
        if how == "add":
            things.add("x", 2)
        else:
            things.register("x")(2)
    assert things.get("x") == 1  # the first registration stands


def test_unknown_name_is_an_lfd_error_listing_the_known_ones():
    things: Registry[int] = Registry("thing")
    for name in ("c", "a", "b"):
        things.add(name, 0)
    with pytest.raises(LFDError, match=r"^unknown thing 'z'; known: a, b, c$"):
        things.get("z")


def test_registries_are_independent():
    models: Registry[int] = Registry("model")
    datasets: Registry[int] = Registry("dataset")
    models.add("x", 1)
    assert "x" not in datasets and len(datasets) == 0
