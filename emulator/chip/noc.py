"""The network-on-chip: XY routes and two fidelities.

Routing is XY dimension order: a packet first moves east/west to the
destination column, then north/south. A packet between two cores of one tile
crosses the tile's local port and pays the ``local`` cost; a packet between
tiles pays the hop costs along its route and nothing else; a packet to its own
core pays nothing.

Fidelities (registry ``NOCS``):

- ``analytic`` (default): every directed link (and every tile's local port) is
  reserved along the route; a link carries one packet at a time, so a packet
  waits for a free slot on it. The arrival time is computed when the packet
  leaves, and the packet goes straight into the destination core's inbox
  with that time: no event per packet.
- ``routers``: one SimPy process per link, with a bounded buffer of
  ``buffer_packets`` in front of it. A packet holds a link until the next
  buffer (or the destination core's queue) takes it, so back-pressure spreads
  upstream. A core injects its packets in order, one at a time: while one
  waits for room in its first link's buffer, the ones after it wait behind it
  and the core starts no new service (async mode), so back-pressure reaches
  the producers. A cycle of full buffers and stalled cores can then deadlock;
  :meth:`RouterNoC.stuck` names the cycle.

In the analytic NoC a full core queue holds packets in the core's inbox
(they are served later, in order) but does not hold links, and a sender never
waits: back-pressure on other traffic and on the senders is what the
``routers`` fidelity adds.

Without contention both give the same arrival time, computed by the same
sequence of additions. The NoC only counts (hops per direction, local
transfers); the cost model prices the counts. See docs/design.md, "Hardware model".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import simpy

__all__ = ["Route", "Topology", "AnalyticNoC", "RouterNoC", "NOCS"]


@dataclass(frozen=True)
class Route:
    """The links a packet crosses, with their latencies, and its hop counts."""

    links: tuple[int, ...]
    latencies: tuple[float, ...]
    hops_ew: int
    hops_ns: int
    local: int
    steps: tuple = field(init=False, repr=False, compare=False)  # (link, latency) pairs, for the hot loops

    def __post_init__(self):
        object.__setattr__(self, "steps", tuple(zip(self.links, self.latencies)))

    @property
    def hops(self) -> int:
        return self.hops_ew + self.hops_ns


class Topology:
    """Core ids, tiles and XY routes of a mesh (routes cached per core pair).

    The profile's I/O ports (``io``, where input does not sit on cores) follow the cores: port p is
    unit ``n_cores + p``, at its tile; a packet from a port enters the mesh at that tile's router.
    """

    # Link ids: 4 directed links out of every tile (E, W, N, S), then one local port per tile.
    EAST, WEST, NORTH, SOUTH = range(4)

    def __init__(self, hw):
        self.width, self.height = hw.mesh.width, hw.mesh.height
        self.cpt = hw.mesh.cores_per_tile
        self.n_tiles = self.width * self.height
        self.n_links = 5 * self.n_tiles
        self.lat_ew, self.lat_ns = hw.noc.hop_latency_s.east_west, hw.noc.hop_latency_s.north_south
        self.lat_local = hw.noc.local_latency_s
        self.n_cores = hw.mesh.n_cores
        self.port_tiles = hw.io.ports[:hw.io.n_ports]
        self._routes: dict[tuple[int, int], Route] = {}

    def tile_xy(self, core: int) -> tuple[int, int]:
        """The tile of a core, or of an I/O port (``core >= n_cores``)."""
        if core >= self.n_cores:
            return self.port_tiles[core - self.n_cores]
        tile = core // self.cpt
        return tile % self.width, tile // self.width

    def unit_name(self, core: int) -> str:
        """``core 5``, or for an I/O port ``io port 0 at tile(0,0)``."""
        if core < self.n_cores:
            return f"core {core}"
        x, y = self.tile_xy(core)
        return f"io port {core - self.n_cores} at tile({x},{y})"

    DIRECTIONS = ("east", "west", "north", "south", "local")

    def link_ends(self, link: int) -> tuple[int, int, str, int, int]:
        """``(x, y, direction, to_x, to_y)`` of a link; the local port leads to its own tile."""
        tile, d = (link - 4 * self.n_tiles, 4) if link >= 4 * self.n_tiles else divmod(link, 4)
        x, y = tile % self.width, tile // self.width
        dx, dy = ((1, 0), (-1, 0), (0, 1), (0, -1), (0, 0))[d]
        return x, y, self.DIRECTIONS[d], x + dx, y + dy

    def link_name(self, link: int) -> str:
        x, y, direction, _, _ = self.link_ends(link)
        return f"tile({x},{y}).{direction}"

    def route(self, src: int, dst: int) -> Route:
        key = (src, dst)
        r = self._routes.get(key)
        if r is None:
            r = self._routes[key] = self._make_route(src, dst)
        return r

    def _make_route(self, src: int, dst: int) -> Route:
        if src == dst:
            return Route((), (), 0, 0, 0)
        (x, y), (tx, ty) = self.tile_xy(src), self.tile_xy(dst)
        if (x, y) == (tx, ty):
            return Route((4 * self.n_tiles + y * self.width + x,), (self.lat_local,), 0, 0, 1)
        links, lats = [], []
        while x != tx:
            d = self.EAST if tx > x else self.WEST
            links.append(4 * (y * self.width + x) + d)
            lats.append(self.lat_ew)
            x += 1 if d == self.EAST else -1
        while y != ty:
            d = self.NORTH if ty > y else self.SOUTH
            links.append(4 * (y * self.width + x) + d)
            lats.append(self.lat_ns)
            y += 1 if d == self.NORTH else -1
        n_ew = abs(tx - self.tile_xy(src)[0])
        return Route(tuple(links), tuple(lats), n_ew, len(links) - n_ew, 0)


class AnalyticNoC:
    """Link reservation along the route, computed when the packet leaves.

    Each link keeps its reserved intervals. A packet takes the earliest slot
    at or after it reaches a link that does not overlap a reservation, so a
    packet sent later can still use a link before another packet's future
    reservation when it fits: without contention, the arrival time is the sum
    of the hop latencies, as with the router processes.
    """

    computes_arrivals = True  # arrival times are known when a packet leaves
    stalls_senders = False  # a sender never waits to inject

    def __init__(self, env: simpy.Environment, topo: Topology, hw, deliver):
        self.env, self.topo, self.deliver = env, topo, deliver
        self.busy: list[list[tuple[float, float]]] = [[] for _ in range(topo.n_links)]

    def send(self, pkt, route: Route) -> float:
        """Reserve the links for ``pkt`` leaving now; returns its arrival time."""
        return self.send_at(route, self.env.now)

    def send_at(self, route: Route, now: float) -> float:
        """Reserve the links for a packet leaving at ``now`` on ``route``; returns its arrival time.

        On each link the packet takes the first slot, at or after it gets
        there, that overlaps no reservation (slots that ended are dropped).
        """
        t, busy = now, self.busy
        for link, lat in route.steps:
            slots = busy[link]
            while slots and slots[0][1] <= now:
                del slots[0]
            if not slots or slots[-1][1] <= t:  # free from t on (the slots are in order): the common case
                slots.append((t, t + lat))
                t += lat
                continue
            pos = 0
            for a, b in slots:
                if b <= t:
                    pos += 1
                elif a >= t + lat:
                    break
                else:
                    t = b
                    pos += 1
            slots.insert(pos, (t, t + lat))
            t += lat
        return t

    def send_train(self, route: Route, t_depart: float, n: int) -> float:
        """Reserve ``n`` packets that all leave at ``t_depart`` on ``route``; last arrival.

        Packet i ends on link j at ``e(i,j) = max(e(i,j-1), e(i-1,j)) + d_j``
        (``e(i,-1)`` is the departure, ``e(-1,j)`` the link's free time). The
        last packet's end on link J is the costliest path through that grid:
        entering at link j0 (at the departure, or when j0 is free) and staying
        on the slowest link of j0..J for the n-1 extra packets::

            e(n-1,J) = max_j0 [ start(j0) + sum(d_j0..d_J) + (n-1) * max(d_j0..d_J) ]

        which costs O(links^2), whatever n. A train books each link after its
        last reservation (the tick modes send only trains, in time order).
        """
        if len(route.links) == 1:  # the common case: one hop or the tile's local port
            slots = self.busy[route.links[0]]
            lat = route.latencies[0]
            t = max(t_depart, slots[-1][1] if slots else 0.0) + n * lat
            slots[:] = [(t - n * lat, t)]
            return t
        t = t_depart
        candidates: list[list[float]] = []  # [start + sum of latencies, max latency] per entry link
        for j, (link, lat) in enumerate(zip(route.links, route.latencies)):
            slots = self.busy[link]
            free = slots[-1][1] if slots else 0.0
            for cand in candidates:
                cand[0] += lat
                if lat > cand[1]:
                    cand[1] = lat
            candidates.append([(max(t_depart, free) if j == 0 else free) + lat, lat])
            t = max(s + (n - 1) * m for s, m in candidates)
            slots.clear()
            slots.append((t - n * lat, t))
        return t

    def stalled(self, core: int) -> None:
        return None  # a sender never waits

    def cycle(self) -> list[str]:
        return []

    def stuck(self) -> list[str]:
        return []


class RouterNoC:
    """One process per link with a bounded buffer in front of it; senders inject in order and wait for room."""

    computes_arrivals = False  # packets arrive when the link processes get them there
    stalls_senders = True  # a core whose packet cannot enter its first link waits (see :meth:`stalled`)

    def __init__(self, env: simpy.Environment, topo: Topology, hw, deliver):
        self.env, self.topo, self.deliver = env, topo, deliver
        self.buffers: dict[int, simpy.Store] = {}
        self.capacity = hw.noc.buffer_packets
        self.outbox: dict[int, deque] = {}  # per source core: packets not yet in the NoC, the head waiting for room
        self.unstalled: dict[int, simpy.Event] = {}  # per stalled core that waits to serve again
        self.waits: dict[int, tuple[str, int]] = {}  # per link holding a packet: ("link" | "core", what it waits for)
        self.stalls = 0  # injections that had to wait for room

    def _buffer(self, link: int, lat: float) -> simpy.Store:
        buf = self.buffers.get(link)
        if buf is None:
            buf = self.buffers[link] = simpy.Store(self.env, capacity=self.capacity)
            self.env.process(self._link(link, buf, lat))
        return buf

    def send(self, pkt, route: Route) -> float | None:
        """Inject ``pkt`` behind its core's earlier packets; ``deliver`` runs at its arrival."""
        if not route.links:
            return self.env.now
        pkt.route, pkt.leg = route, 0
        out = self.outbox.setdefault(pkt.src_core, deque())
        out.append(pkt)
        if len(out) == 1:
            self._inject(pkt.src_core)

    def _inject(self, core: int) -> None:
        """Put core ``core``'s waiting packets into their first links' buffers, in order, until one finds
        its buffer full: it waits there (SimPy's put queue) and the rest wait behind it."""
        out = self.outbox[core]
        while out:
            route = out[0].route
            put = self._buffer(route.links[0], route.latencies[0]).put(out[0])
            if not put.triggered:
                self.stalls += 1
                put.callbacks.append(lambda _e, core=core: self._injected(core))
                return
            out.popleft()
        ev = self.unstalled.pop(core, None)
        if ev is not None:
            ev.succeed()

    def _injected(self, core: int) -> None:
        self.outbox[core].popleft()
        self._inject(core)

    def stalled(self, core: int) -> simpy.Event | None:
        """An event that fires once core ``core``'s packets are all in the NoC, or None if they are."""
        if not self.outbox.get(core):
            return None
        ev = self.unstalled.get(core)
        if ev is None:
            ev = self.unstalled[core] = self.env.event()
        return ev

    def _link(self, link: int, buf: simpy.Store, lat: float):
        while True:
            pkt = yield buf.get()
            yield self.env.timeout(lat)
            pkt.leg += 1
            route = pkt.route
            if pkt.leg < len(route.links):
                self.waits[link] = ("link", route.links[pkt.leg])
                yield self._buffer(route.links[pkt.leg], route.latencies[pkt.leg]).put(pkt)
            else:
                # The last link is held until the destination core takes the packet.
                accepted = self.deliver(pkt)
                if accepted is not None:
                    self.waits[link] = ("core", pkt.dst)
                    yield accepted
            self.waits.pop(link, None)

    def cycle(self) -> list[str]:
        """A cycle of waits, if there is one: a stalled core waits for its first link's buffer, a link for
        the next link's buffer or for its destination core's queue (names, the first repeated at the end)."""
        import networkx as nx  # only when a sample has deadlocked

        waits = nx.DiGraph()
        for core, out in sorted(self.outbox.items()):
            if out:
                waits.add_edge(("core", core), ("link", out[0].route.links[0]))
        for link, what in sorted(self.waits.items()):
            waits.add_edge(("link", link), what)
        try:
            edges = nx.find_cycle(waits)
        except nx.NetworkXNoCycle:
            return []
        name = {"core": self.topo.unit_name, "link": self.topo.link_name}
        return [name[kind](i) for kind, i in [u for u, _ in edges] + [edges[0][0]]]

    def stuck(self) -> list[str]:
        return [f"{self.topo.link_name(link)} ({len(b.items)} packets buffered, {len(b.put_queue)} waiting)"
                for link, b in sorted(self.buffers.items()) if b.items or b.put_queue]


NOCS = {"analytic": AnalyticNoC, "routers": RouterNoC}
