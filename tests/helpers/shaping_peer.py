"""A scripted SMTP peer for the traffic shaping tests, on loopback, run in a background thread
(smtp_peers' session loop, SmtpPeer, with hooks of its own). It records what a receiving site
sees of a sender: every connection's open and close times (its own clock, time.time()), each
message's time (when it answered the end of data) with its envelope, the connections open at
once (a timeline, so a test asks for the peak over any span), and whether the client ended a
connection with QUIT. It can be told, at any time:
- max_open = K: a connection that makes more than K open at once is greeted with
  421 4.7.0 too many connections and closed (a "421 storm"); None: never;
- close_after = N: after the 250 to a connection's N-th message the peer closes it, as some big
  sites do, without a word; None: never;
- data_delay = seconds to wait before answering the end of data (so deliveries overlap).
Run with /usr/bin/python3."""

import time

from smtp_peers import Session, SmtpPeer


class Connection(Session):
    def __init__(self, num, opened):
        super().__init__()
        self.num = num
        self.opened = opened
        self.closed = None          # time the peer saw it end
        self.refused = False        # greeted with 421 (too many open)
        self.open_then = 0          # connections open once it was (itself included)
        self.messages = []          # the times of its messages


class Message:
    def __init__(self, when, conn, sender, rcpts, data):
        self.time = when
        self.conn = conn            # Connection.num
        self.sender = sender
        self.rcpts = rcpts
        self.data = data

    def domains(self):
        return {r.rsplit("@", 1)[-1].lower() for r in self.rcpts}


def _behaviour(key):
    """a property that is the session loop's behaviour key (read at each use: settable at any time)"""
    def get(self):
        return self.b.get(key)

    def put(self, value):
        self.b[key] = value
    return property(get, put)


class ShapingPeer(SmtpPeer):
    name = "shaping-peer"
    extensions = ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"]
    replies = {"NOOP": "250 2.0.0 ok", "QUIT": "221 2.0.0 bye", "other": "502 5.5.2 not here"}
    probe_pipelining = False

    def __init__(self, host="127.0.0.1", port=None, max_open=None, close_after=None, data_delay=0.0):
        self.max_open = max_open
        self.conns = []
        self.msgs = []
        self.open_now = 0
        self.timeline = [(time.time(), 0)]     # (time, connections open from then on)
        super().__init__(host, port, close_after=close_after, slow_data=data_delay)

    # the session loop's behaviour keys, under this peer's names
    close_after = _behaviour("close_after")
    data_delay = _behaviour("slow_data")

    # ---- what a test asks

    def messages(self, domain=None):
        """the messages taken (for one recipient domain), in order"""
        with self.lock:
            return [m for m in self.msgs if domain is None or domain.lower() in m.domains()]

    def times(self, domain=None):
        return [m.time for m in self.messages(domain)]

    def connections(self):
        with self.lock:
            return list(self.conns)

    def refused(self):
        """the connections greeted with 421"""
        return [c for c in self.connections() if c.refused]

    def peak(self, start=0.0, end=None):
        """the most connections open at once between start and end (times of time.time())"""
        end = time.time() if end is None else end
        with self.lock:
            line = list(self.timeline)
        best = 0
        for i, (t, n) in enumerate(line):
            nxt = line[i + 1][0] if i + 1 < len(line) else float("inf")
            if nxt > start and t <= end:
                best = max(best, n)
        return best

    # ---- the session loop's hooks

    def _count(self, delta):
        with self.lock:
            self.open_now += delta
            self.timeline.append((time.time(), self.open_now))
            return self.open_now

    def on_open(self):
        with self.lock:
            conn = Connection(len(self.conns), time.time())
            self.conns.append(conn)
        conn.open_then = self._count(1)
        return conn

    def on_greet(self, conn):
        if self.max_open is not None and conn.open_then > self.max_open:
            conn.refused = True
            return "421 4.7.0 too many connections, try again later"
        return "220 shaping-peer ESMTP"

    async def on_refused(self, conn, reader):
        """closed at once, without waiting for the client"""

    def on_taken(self, conn, data):
        when = time.time()
        with self.lock:
            self.msgs.append(Message(when, conn.num, conn.sender, conn.rcpts, data))
            conn.messages.append(when)

    def on_close(self, conn):
        conn.closed = time.time()
        self._count(-1)
