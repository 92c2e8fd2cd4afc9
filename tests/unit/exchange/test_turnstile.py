"""Batches of one link that a receiver holds at the same time are applied in the order of their first seq."""

from __future__ import annotations

import threading

from sarhad.exchange.receive import _Ticket, _Turnstile


def test_a_later_batch_that_arrives_first_waits_for_the_earlier_one() -> None:
    turnstile = _Turnstile()
    order: list[int] = []
    later = turnstile.register(11)  # seqs 11..20 came in first
    earlier = turnstile.register(1)  # seqs 1..10 came in just after

    def apply(ticket: _Ticket) -> None:
        ticket.wait()
        order.append(ticket.first)
        ticket.done()

    waiting = threading.Thread(target=apply, args=(later,))
    waiting.start()
    waiting.join(timeout=0.3)
    assert waiting.is_alive() and order == []  # 11 waits while 1 is registered and not done
    apply(earlier)
    waiting.join(timeout=5)
    assert order == [1, 11]


def test_a_batch_alone_goes_at_once_and_done_is_idempotent() -> None:
    turnstile = _Turnstile()
    ticket = turnstile.register(5)
    ticket.wait()
    ticket.done()
    ticket.done()
    assert turnstile.waiting == []


def test_a_batch_does_not_wait_forever_for_one_that_never_finishes() -> None:
    turnstile = _Turnstile()
    turnstile.TURN_SECONDS = 0.2
    turnstile.register(1)  # stuck: never done
    ticket = turnstile.register(2)
    ticket.wait()  # returns after the turn's time; the batch then meets a gap at worst and is sent again
    ticket.done()
    assert turnstile.waiting == [1]
