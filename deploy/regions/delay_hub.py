#!/usr/bin/env python3
"""delay_hub.py: a userspace router with per-pair delay, loss and partitions, for regions.sh.

Why this exists: the kernel this harness must run on is built without `sch_netem` (and without
`act_gact`, so `tc ... action drop` is unavailable too), so delay between regions cannot be
made with `tc netem`. Instead every node gets a TUN device (layer 3) whose other end is this
process: it reads each IPv4 packet a node sends, looks at the destination address, and writes
the packet into the destination's TUN device once the configured one-way delay has passed.

Files in DIR (written by regions.sh):
  devices    lines `DEVICE ADDRESS`: the TUN devices to create and the address behind each
  delays     lines `SRC_ADDRESS DST_ADDRESS DELAY_US`: one-way delay per ordered pair
             (pairs not listed, e.g. to and from the host, have no delay)
  loss       one number: percentage of node-to-node packets dropped (default 0)
  blocked    `# generation N`, then the faults in force (re-read when it changes; this is how
             partitions work), one per line:
               `ADDRESS ADDRESS`    drop every packet between the two, both ways
               `ADDRESS > ADDRESS`  drop the first's packets to the second only (one-way)
               `loss PCT`           node-to-node loss while the line stands (replaces `loss`)
               `delay US`           extra one-way delay on every node-to-node packet
Written by this process: `ready` once every device exists, `blocked.applied` (the generation
of the blocked file it routes by), and its log on stderr.
"""

import argparse
import errno
import fcntl
import heapq
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PACKET_BYTES_MAX = 65535
# Bounds on packets in flight (like netem's `limit`): beyond them new packets are dropped.
QUEUE_PACKETS_MAX = 100_000
QUEUE_BYTES_MAX = 256 * 1024 * 1024
# How often the blocked file is checked for changes, in seconds.
RELOAD_INTERVAL_S = 0.05
# Packets read from one device per wake-up, so one busy node cannot starve the others.
READS_PER_WAKE_MAX = 64


def log(message):
    sys.stderr.write(f"delay_hub: {message}\n")
    sys.stderr.flush()


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    request = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, request)
    return fd


def read_lines(path):
    try:
        with open(path, encoding="ascii") as file:
            return [line.split() for line in file if line.strip()]
    except FileNotFoundError:
        return []


class Faults:
    """What the blocked file asks for: dropped (source, destination) pairs, a loss that
    replaces the base loss, and extra delay."""

    def __init__(self):
        self.blocked = set()
        self.loss_fraction = None
        self.extra_delay_s = 0.0
        self.generation = 0


def load_faults(path):
    """The faults of the blocked file and its generation number."""
    faults = Faults()
    for fields in read_lines(path):
        if fields[0] == "#":
            if len(fields) == 3 and fields[1] == "generation":
                faults.generation = int(fields[2])
        elif len(fields) == 2 and fields[0] == "loss":
            faults.loss_fraction = float(fields[1]) / 100
        elif len(fields) == 2 and fields[0] == "delay":
            faults.extra_delay_s = int(fields[1]) / 1_000_000
        elif len(fields) == 2:
            first, second = (socket.inet_aton(address) for address in fields)
            faults.blocked.add((first, second))
            faults.blocked.add((second, first))
        elif len(fields) == 3 and fields[1] == ">":
            faults.blocked.add((socket.inet_aton(fields[0]), socket.inet_aton(fields[2])))
        else:
            log(f"ignoring a line of the blocked file: {' '.join(fields)}")
    return faults


def identity(path):
    """What changes when regions.sh replaces the file (it renames a new file over it)."""
    try:
        status = os.stat(path)
        return (status.st_ino, status.st_mtime_ns, status.st_size)
    except FileNotFoundError:
        return None


class Hub:
    """The devices, the delay table and the queue of packets waiting for their time."""

    def __init__(self, directory, rng):
        self.directory = directory
        self.rng = rng
        self.device_by_address = {}
        self.fds = []
        for name, address in read_lines(os.path.join(directory, "devices")):
            fd = open_tun(name)
            self.fds.append(fd)
            self.device_by_address[socket.inet_aton(address)] = fd
        self.delay_s = {}
        for source, destination, delay_us in read_lines(os.path.join(directory, "delays")):
            key = (socket.inet_aton(source), socket.inet_aton(destination))
            self.delay_s[key] = int(delay_us) / 1_000_000
        loss = read_lines(os.path.join(directory, "loss"))
        self.loss_fraction = float(loss[0][0]) / 100 if loss else 0.0
        self.blocked_path = os.path.join(directory, "blocked")
        self.blocked_identity = None
        self.faults = Faults()
        self.reload_if_changed()
        self.queue = []
        self.queue_bytes = 0
        self.sequence = 0
        self.dropped = 0

    def reload_if_changed(self):
        current = identity(self.blocked_path)
        if current != self.blocked_identity:
            self.blocked_identity = current
            self.faults = load_faults(self.blocked_path)
            generation = self.faults.generation
            applied = os.path.join(self.directory, "blocked.applied")
            with open(applied + ".tmp", "w", encoding="ascii") as file:
                file.write(f"{generation}\n")
            os.replace(applied + ".tmp", applied)
            log(
                f"blocked generation {generation}: {len(self.faults.blocked)} one-way pairs, "
                f"loss {self.faults.loss_fraction}, extra delay {self.faults.extra_delay_s} s"
            )

    def route(self, packet, now):
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return  # IPv6 and runts: the harness is IPv4 only.
        source, destination = packet[12:16], packet[16:20]
        out_fd = self.device_by_address.get(destination)
        if out_fd is None or (source, destination) in self.faults.blocked:
            return
        delay_s = self.delay_s.get((source, destination))
        if delay_s is not None:
            loss_fraction = self.faults.loss_fraction
            if loss_fraction is None:
                loss_fraction = self.loss_fraction
            if loss_fraction and self.rng.random() < loss_fraction:
                return
            delay_s += self.faults.extra_delay_s
        if delay_s is None or delay_s == 0:
            self.send(out_fd, packet)
            return
        if len(self.queue) >= QUEUE_PACKETS_MAX or self.queue_bytes + len(packet) > QUEUE_BYTES_MAX:
            self.dropped += 1
            return
        self.sequence += 1
        heapq.heappush(self.queue, (now + delay_s, self.sequence, out_fd, packet))
        self.queue_bytes += len(packet)

    def send(self, fd, packet):
        try:
            os.write(fd, packet)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.EIO, errno.EINVAL):
                raise
            self.dropped += 1

    def deliver_due(self, now):
        while self.queue and self.queue[0][0] <= now:
            _, _, fd, packet = heapq.heappop(self.queue)
            self.queue_bytes -= len(packet)
            self.send(fd, packet)

    def drain(self, fd, now):
        for _ in range(READS_PER_WAKE_MAX):
            try:
                packet = os.read(fd, PACKET_BYTES_MAX)
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno == errno.EIO:
                    return  # the device is down (e.g. its namespace is going away)
                raise
            self.route(packet, now)

    def run(self):
        selector = selectors.DefaultSelector()
        for fd in self.fds:
            selector.register(fd, selectors.EVENT_READ)
        next_reload = time.monotonic()
        while True:
            now = time.monotonic()
            timeout = RELOAD_INTERVAL_S
            if self.queue:
                timeout = min(timeout, max(0.0, self.queue[0][0] - now))
            for key, _ in selector.select(timeout):
                self.drain(key.fd, time.monotonic())
            now = time.monotonic()
            self.deliver_due(now)
            if now >= next_reload:
                self.reload_if_changed()
                next_reload = now + RELOAD_INTERVAL_S


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="directory with devices, delays, loss")
    parser.add_argument("--seed", type=int, default=None, help="seed of the loss decisions")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    log(f"loss seed {seed} (replay with EB_REGIONS_SEED={seed})")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    hub = Hub(args.dir, random.Random(seed))
    with open(os.path.join(args.dir, "ready"), "w", encoding="ascii") as ready:
        ready.write(f"{os.getpid()}\n")
    log(f"routing between {len(hub.fds)} devices, loss {hub.loss_fraction * 100}%")
    hub.run()


if __name__ == "__main__":
    main()
