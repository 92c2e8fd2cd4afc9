"""An open event stream lives no longer than its session: sign-out, disabling the user and expiry end it,
and nothing is delivered after (real streams over a real socket)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from live_helpers import PASSWORD, SseClient, serve
from sqlalchemy import update

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import AuthSession
from sarhad.app import create_app
from sarhad.core.node import Node, build_node
from sarhad.live import services as live


def token(base: str, username: str) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def publish(node: Node, topic: str, positions: list[str]) -> int:
    with node.transaction() as session:
        row = live.publish(session, node, topic, {"subject": "secret"}, positions=positions)
    return row.id  # set when the transaction commits


def open_stream(base: str, secret: str) -> SseClient:
    client = SseClient(f"{base}/api/v1/events", {"Authorization": f"Bearer {secret}"}).start()
    assert client.status == 200
    return client


def test_sign_out_ends_the_open_stream_and_nothing_more_is_delivered(live_node: Node) -> None:
    with serve(create_app(live_node)) as base:
        secret = token(base, "alice")
        stream = open_stream(base, secret)
        publish(live_node, "test.before", ["PK-S1-CDR"])
        assert stream.next(topic="test.before")

        answer = httpx.post(f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 204
        publish(live_node, "test.after", ["PK-S1-CDR"])
        assert stream.closed.wait(5), "the stream stayed open after sign-out"
        assert stream.nothing(0.3)
        # and it cannot be reopened with the signed-out token
        assert (
            httpx.get(f"{base}/api/v1/events", headers={"Authorization": f"Bearer {secret}"}).status_code
            == 401
        )


def test_signing_out_one_session_leaves_the_users_other_streams_open(live_node: Node) -> None:
    with serve(create_app(live_node)) as base:
        first, second = token(base, "alice"), token(base, "alice")
        ending, staying = open_stream(base, first), open_stream(base, second)
        httpx.post(f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
        publish(live_node, "test.after", ["PK-S1-CDR"])
        assert staying.next(topic="test.after")
        assert ending.closed.wait(5)
        assert ending.nothing(0.1)
        staying.stop = True


def test_disabling_the_user_elsewhere_ends_their_streams(live_node: Node) -> None:
    other = build_node(live_node.settings)  # e.g. `sarhad users disable` in another process: no hub there
    try:
        with serve(create_app(live_node)) as base:
            bob = open_stream(base, token(base, "bob"))
            alice = open_stream(base, token(base, "alice"))
            with other.transaction() as session:
                accounts.set_disabled(session, other.clock, SystemActor(), "bob", True)
            assert bob.closed.wait(5), "the disabled user's stream stayed open"
            publish(live_node, "test.after", ["PK-MOI", "PK-S1-CDR"])
            assert alice.next(topic="test.after")
            assert bob.nothing(0.3)
            alice.stop = True
    finally:
        other.dispose()


def test_a_new_password_ends_the_users_streams(live_node: Node) -> None:
    with serve(create_app(live_node)) as base:
        stream = open_stream(base, token(base, "alice"))
        with live_node.transaction() as session:
            accounts.set_password(session, live_node.clock, SystemActor(), "alice", "another long passphrase")
        publish(live_node, "test.after", ["PK-S1-CDR"])
        assert stream.closed.wait(5)
        assert stream.nothing(0.1)


def test_the_stream_ends_when_its_session_expires(live_node: Node) -> None:
    with serve(create_app(live_node)) as base:
        secret = token(base, "alice")
        with live_node.transaction() as session:
            session.execute(
                update(AuthSession)
                .where(AuthSession.token_hash == accounts.hash_secret(secret))
                .values(expires_at=live_node.clock.now() + timedelta(seconds=1))
            )
        stream = open_stream(base, secret)
        assert stream.closed.wait(5), "the stream outlived its session"


def test_revocations_are_never_sent_to_anyone(live_node: Node) -> None:
    with serve(create_app(live_node)) as base:
        carol = open_stream(base, token(base, "carol"))
        with live_node.transaction() as session:
            live.publish_revocation(session, live_node.clock, session_id="no-such-session")
        publish(live_node, "test.after", ["PK-S1-CDR", "PK-MOI"])
        assert carol.nothing(0.5)  # carol holds no position: she sees neither
        carol.stop = True
