"""A channel for chaos tests only, loaded by a worker started with
`--include tests.chaos.poison_channel`: it logs like the `log` channel, except that a
message to the user named `poison` makes the whole worker process exit on the spot,
as a crashing provider library or the out-of-memory killer would."""

import os

from apps.delivery.channels.base import no_report
from apps.delivery.channels.log import LogChannel
from apps.delivery.channels.registry import register

KEY = "poison"
POISON_USER = "poison"


class PoisonChannel(LogChannel):
    key = KEY
    batch_size = 50

    def send_batch(self, messages, report=no_report):
        if any(message.to == POISON_USER for message in messages):
            os._exit(137)
        return super().send_batch(messages, report=report)


register(PoisonChannel())
