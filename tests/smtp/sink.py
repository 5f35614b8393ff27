"""A test SMTP sink: accepts every message on 127.0.0.1:PORT and writes each one, decoded,
as DIR/NNNNNN.json ({"from", "to", "subject", "html"}), written to a temporary name and
renamed so a reader never sees half a file. Stops after --max-messages or on SIGTERM."""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, max_messages):
        self.directory = directory
        self.max_messages = max_messages
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.count >= self.max_messages:
            return "452 too many messages for this sink"
        self.count += 1
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("html", "plain"))
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(message.get("subject", "")),
            "html": body.get_content() if body is not None else "",
        }
        name = os.path.join(self.directory, f"{self.count:06d}.json")
        with open(name + ".tmp", "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.rename(name + ".tmp", name)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--max-messages", type=int, default=1000)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Sink(args.dir, args.max_messages), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
