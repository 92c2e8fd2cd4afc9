"""Background tasks of the exchange, started by the app's lifespan."""

from sarhad.exchange.delivery import delivery_task

TASKS = (delivery_task,)
