"""After-commit hooks run once the change is durable, never before and never for a change that was undone."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import User
from sarhad.core.node import Node, after_commit


class Boom(Exception):
    pass


def add_user(node: Node, session: object, name: str) -> None:
    accounts.create_user(
        session,  # type: ignore[arg-type]
        node.clock,
        SystemActor(),
        username=name,
        password="a long password",
        roles=["operator"],
    )


def users(node: Node) -> list[str]:
    with node.sessions() as session:
        return sorted(session.scalars(select(User.username)).all())


def test_a_hook_runs_once_after_the_commit_and_sees_the_committed_change(node: Node) -> None:
    seen: list[list[str]] = []
    hook = lambda: seen.append(users(node))  # noqa: E731 - reads the database from outside the session
    with node.transaction() as session:
        add_user(node, session, "first")
        after_commit(session, hook)
        after_commit(session, hook)  # the same function twice runs once
        session.flush()
        assert seen == []
    assert seen == [["first"]]


def test_no_hook_runs_when_the_transaction_rolls_back(node: Node) -> None:
    ran: list[str] = []
    with pytest.raises(Boom), node.transaction() as session:
        add_user(node, session, "second")
        after_commit(session, lambda: ran.append("x"))
        raise Boom
    assert ran == [] and users(node) == []


def test_a_released_savepoint_does_not_run_its_hooks_before_the_outer_commit(node: Node) -> None:
    ran: list[str] = []
    with node.transaction() as session:
        with session.begin_nested():
            add_user(node, session, "inner")
            after_commit(session, lambda: ran.append("inner"))
        assert ran == []  # released, not committed
        after_commit(session, lambda: ran.append("outer"))
    assert ran == ["inner", "outer"]


def test_hooks_of_a_rolled_back_savepoint_never_run_but_the_others_do(node: Node) -> None:
    ran: list[str] = []
    with node.transaction() as session:
        after_commit(session, lambda: ran.append("before"))
        with pytest.raises(Boom), session.begin_nested():
            with session.begin_nested():
                after_commit(session, lambda: ran.append("deep"))
            after_commit(session, lambda: ran.append("undone"))
            raise Boom
        with session.begin_nested():
            after_commit(session, lambda: ran.append("kept"))
    assert ran == ["before", "kept"]


def test_an_outer_rollback_drops_the_hooks_of_released_savepoints(node: Node) -> None:
    ran: list[str] = []
    with pytest.raises(Boom), node.transaction() as session:
        with session.begin_nested():
            after_commit(session, lambda: ran.append("released"))
        raise Boom
    assert ran == []


def test_a_failing_hook_does_not_stop_the_others_or_undo_the_commit(node: Node) -> None:
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("notification failed")

    with node.transaction() as session:
        add_user(node, session, "third")
        after_commit(session, fail)
        after_commit(session, lambda: ran.append("next"))
    assert ran == ["next"] and users(node) == ["third"]


def test_a_reader_does_not_wait_for_a_writer(node: Node) -> None:
    """Only writing transactions take SQLite's write lock up front; a read meanwhile answers at once."""
    with node.transaction() as session:
        add_user(node, session, "writer")
        session.flush()
        started = time.monotonic()
        assert users(node) == []  # the uncommitted user is not visible, and the read did not block
        assert time.monotonic() - started < 5
    assert users(node) == ["writer"]
