package main

// `go-relay peers --relay MULTIADDR --per-address N`: many go-libp2p peers in one process, each
// holding a circuit-relay-v2 reservation on one anchor and taking it again whenever the
// connection drops, with the redial policy of the peer library's AnchorMesh
// (node-image/src/net/anchor-mesh.ts). It is the load of the reconnect-storm benchmark
// (reconnect-storm-js keeps js peers): a js-libp2p peer costs the generator more CPU per rejoin
// than the anchor spends on it, so on a 2-core machine js peers measure themselves; these measure
// the anchor.
//
// Each peer dials from its own loopback source address (N peers per address, one address per
// /24, as bench/src/reservation-worker.ts), so the anchor's per-host and per-network limits see
// hosts on many networks. Like a library peer it speaks TCP, /noise and /yamux/1.0.0 only, runs
// identify and ping, pings its anchor every 30 s with a yamux ping frame (yamux's own keepalive
// off, as the library's ConnectionLiveness) and closes a connection whose ping goes unanswered
// for 10 s. Its signed record names its circuit address as soon as it holds a reservation, and
// it pushes its record again 2 s later, as a library peer does (see holdReservation).
//
// It speaks the JSON-line protocol of reservation-worker.ts in rejoin mode on stdin and stdout:
//
//	{"join":{"count":N,"offset":K}}  -> {"joined":n,"latenciesMs":[...],"failures":{"cause":n},"retried":r,"rssBytes":b}
//	{"rejoined":{"since":T}}         -> {"peers":n,"rejoinedMs":[...],"connectedUnreserved":c,"disconnected":d,
//	                                     "closedUnanswered":u,"loopDelayMaxMs":m,"rssBytes":b}
//
// and exits 0 when stdin closes. loopDelayMaxMs is the longest a 20 ms ticker ran late since the
// last answer: how starved of CPU the peers are (the event-loop delay of a js worker).

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	goyamux "github.com/libp2p/go-yamux/v5"
	ma "github.com/multiformats/go-multiaddr"
)

// The AnchorMesh policy: a dial that failed because the anchor is down backs off from 0.5 s,
// doubling to 30 s; one the anchor turned away (reset, or closed mid-handshake) from 4 s,
// doubling to 15 s; each wait is jittered above a floor of half the first backoff.
const (
	initialBackoff      = 500 * time.Millisecond
	maxBackoff          = 30 * time.Second
	turnedAwayBackoff   = 4 * time.Second
	turnedAwayMaximum   = 15 * time.Second
	peerDialTimeout     = 10 * time.Second
	addressDialTimeout  = 6 * time.Second // js-libp2p's per-address dial timeout
	reserveTimeout      = 5 * time.Second // the js client's reservationCompletionTimeout
	reserveRetryFloor   = time.Second
	reserveRetryLate    = 5 * time.Second  // after an answer that came too late
	reserveRetryRefused = 30 * time.Second // after a refusal
	reserveRetryMaximum = 60 * time.Second
	repushAfter         = 2 * time.Second
	pingEvery           = 30 * time.Second // PEER_LIVENESS
	pingTimeout         = 10 * time.Second
	joinConcurrency     = 8
	joinTimeout         = 30 * time.Second
	joinAttempts        = 2
	joinRetryAfter      = time.Second
	stallTick           = 20 * time.Millisecond
)

type joinCommand struct {
	Count  int `json:"count"`
	Offset int `json:"offset"`
}

type rejoinedCommand struct {
	Since float64 `json:"since"`
}

type command struct {
	Join     *joinCommand     `json:"join"`
	Rejoined *rejoinedCommand `json:"rejoined"`
}

type joinAnswer struct {
	Joined      int            `json:"joined"`
	LatenciesMs []float64      `json:"latenciesMs"`
	Failures    map[string]int `json:"failures"`
	Retried     int            `json:"retried"`
	RssBytes    int64          `json:"rssBytes"`
}

type rejoinedAnswer struct {
	Peers               int       `json:"peers"`
	RejoinedMs          []float64 `json:"rejoinedMs"`
	ConnectedUnreserved int       `json:"connectedUnreserved"`
	Disconnected        int       `json:"disconnected"`
	ClosedUnanswered    int64     `json:"closedUnanswered"`
	LoopDelayMaxMs      float64   `json:"loopDelayMaxMs"`
	RssBytes            int64     `json:"rssBytes"`
}

// closedUnanswered counts connections the peers closed because the anchor left a ping unanswered.
var closedUnanswered atomic.Int64

func peers(args []string) error {
	flags := flag.NewFlagSet("peers", flag.ContinueOnError)
	relayAddr := flags.String("relay", "", "the anchor's multiaddr, ending in /p2p/<peerId>")
	perAddress := flags.Int("per-address", 4, "simulated peers per loopback source address")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("peers: unexpected arguments: %v", flags.Args())
	}
	if *perAddress < 1 {
		return errors.New("peers: --per-address must be at least 1")
	}
	addr, err := ma.NewMultiaddr(*relayAddr)
	if err != nil {
		return fmt.Errorf("peers: --relay %q: %w", *relayAddr, err)
	}
	relay, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("peers: --relay must end in /p2p/<peerId>: %w", err)
	}
	// The js client waits 5 s for the answer to a reservation request (go-libp2p's default: 1 min).
	client.ReserveTimeout = reserveTimeout
	stalls := startStallMonitor()
	var all []*simPeer
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			return fmt.Errorf("peers: a command that is not JSON: %q", in.Text())
		}
		switch {
		case c.Join != nil && c.Join.Count >= 0 && c.Join.Offset >= 0:
			answer, joined := join(*relay, *perAddress, c.Join.Count, c.Join.Offset)
			all = append(all, joined...)
			err = out.Encode(answer)
		case c.Rejoined != nil:
			err = out.Encode(rejoined(all, c.Rejoined.Since, stalls))
		default:
			return fmt.Errorf("peers: unknown command %q: send {\"join\":{\"count\":N,\"offset\":K}} or {\"rejoined\":{\"since\":T}}", in.Text())
		}
		if err != nil {
			return err
		}
	}
	// stdin closed: the benchmark is done with these peers.
	return in.Err()
}

// sourceAddress is the loopback address peer `index` dials from (reservation-worker.ts's sourceAddress).
func sourceAddress(index, perAddress int) net.IP {
	h := index / perAddress
	return net.IPv4(127, byte(64+(h&63)), byte((h>>6)&255), byte(1+((h>>14)&127)))
}

var portPattern = regexp.MustCompile(`/tcp/\d+/p2p/\w+|:\d+`)

func join(relay peer.AddrInfo, perAddress, count, offset int) (joinAnswer, []*simPeer) {
	answer := joinAnswer{LatenciesMs: []float64{}, Failures: map[string]int{}}
	var mu sync.Mutex
	var joined []*simPeer
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(joinConcurrency, count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				started := time.Now()
				for attempt := 1; attempt <= joinAttempts; attempt++ {
					p, err := startPeer(relay, sourceAddress(offset+i, perAddress))
					mu.Lock()
					if err == nil {
						joined = append(joined, p)
						answer.LatenciesMs = append(answer.LatenciesMs, float64(time.Since(started).Microseconds())/1000)
					} else if attempt < joinAttempts {
						answer.Retried++
					} else {
						cause := portPattern.ReplaceAllString(err.Error(), "")
						answer.Failures[cause]++
					}
					mu.Unlock()
					if err == nil {
						break
					}
					time.Sleep(joinRetryAfter)
				}
			}
		}()
	}
	wg.Wait()
	answer.Joined = len(answer.LatenciesMs)
	answer.RssBytes = residentBytes()
	return answer, joined
}

func rejoined(all []*simPeer, sinceMs float64, stalls *stallMonitor) rejoinedAnswer {
	since := time.UnixMicro(int64(sinceMs * 1000))
	answer := rejoinedAnswer{Peers: len(all), RejoinedMs: []float64{}}
	for _, p := range all {
		p.mu.Lock()
		reserved, lostAt, gainedAt := p.reserved, p.lostAt, p.gainedAt
		p.mu.Unlock()
		if !reserved {
			if p.h.Network().Connectedness(p.relay.ID) == network.Connected {
				answer.ConnectedUnreserved++
			} else {
				answer.Disconnected++
			}
		}
		if lostAt.IsZero() || lostAt.Before(since) || gainedAt.IsZero() || gainedAt.Before(lostAt) {
			continue
		}
		answer.RejoinedMs = append(answer.RejoinedMs, float64(gainedAt.Sub(since).Microseconds())/1000)
	}
	answer.ClosedUnanswered = closedUnanswered.Load()
	answer.LoopDelayMaxMs = stalls.takeMaxMs()
	answer.RssBytes = residentBytes()
	return answer
}

// simPeer is one simulated peer: its host, and when it last lost and last regained its reservation.
type simPeer struct {
	h       host.Host
	relay   peer.AddrInfo
	emitter event.Emitter
	circuit []ma.Multiaddr
	// stop ends keep (the process exits with the peers running: stdin closed).
	stop context.CancelFunc
	// dropSignal wakes whoever waits on a connection when one to the anchor closes (the event bus
	// is read at once, so it never waits on this peer).
	dropSignal chan struct{}

	mu       sync.Mutex
	reserved bool
	// generation counts lost reservations (see announce).
	generation uint64
	lostAt     time.Time
	gainedAt   time.Time
	lastErr    error
	// repushed: whether repushProtocol is handled now.
	repushed bool
}

// startPeer starts a peer and waits until it holds its first reservation (joinTimeout at most);
// from then on it keeps one until the process exits.
func startPeer(relay peer.AddrInfo, source net.IP) (*simPeer, error) {
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	muxer := *yamux.DefaultTransport
	muxer.EnableKeepAlive = false
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: source}}
	h, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.NoListenAddrs,
		libp2p.EnableRelay(), // after NoListenAddrs (see hold.go)
		libp2p.ForceReachabilityPrivate(),
		libp2p.Transport(tcp.NewTCPTransport, tcp.WithDialerForAddr(func(ma.Multiaddr) (tcp.ContextDialer, error) { return dialer, nil })),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, &muxer),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.ConnectionManager(&connmgr.NullConnMgr{}),
		// js-libp2p gives one address 6 s (go-libp2p's default for a local one is 5 s).
		libp2p.SwarmOpts(swarm.WithDialTimeoutLocal(addressDialTimeout)),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return nil, fmt.Errorf("creating host: %w", err)
	}
	emitter, err := h.EventBus().Emitter(new(event.EvtAutoRelayAddrsUpdated), eventbus.Stateful)
	if err != nil {
		h.Close()
		return nil, err
	}
	events, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		h.Close()
		return nil, err
	}
	p := &simPeer{h: h, relay: relay, emitter: emitter, dropSignal: make(chan struct{}, 1)}
	go func() {
		for e := range events.Out() {
			if c, ok := e.(event.EvtPeerConnectednessChanged); ok && c.Connectedness != network.Connected {
				select {
				case p.dropSignal <- struct{}{}:
				default:
				}
			}
		}
	}()
	circuit := ma.StringCast("/p2p/" + relay.ID.String() + "/p2p-circuit")
	for _, a := range relay.Addrs {
		p.circuit = append(p.circuit, a.Encapsulate(circuit))
	}
	ctx, stop := context.WithCancel(context.Background())
	p.stop = stop
	first := make(chan struct{})
	go p.keep(ctx, first)
	select {
	case <-first:
		return p, nil
	case <-time.After(joinTimeout):
		p.stop()
		p.mu.Lock()
		cause := p.lastErr
		p.mu.Unlock()
		events.Close()
		h.Close()
		if cause == nil {
			cause = errors.New("no answer")
		}
		return nil, fmt.Errorf("no reservation within %s: %w", joinTimeout, cause)
	}
}

// keep connects to the anchor, reserves, and does both again whenever the connection drops.
func (p *simPeer) keep(ctx context.Context, first chan struct{}) {
	backoff, busy := initialBackoff, turnedAwayBackoff
	var delay time.Duration
	for pause(ctx, delay) {
		conn, err := p.connect(ctx)
		if err != nil {
			p.failed(err)
			if turnedAway(err) {
				delay = jittered(busy, turnedAwayBackoff)
				busy = min(busy*2, turnedAwayMaximum)
			} else {
				delay = jittered(backoff, initialBackoff)
				backoff = min(backoff*2, maxBackoff)
			}
			continue
		}
		backoff, busy = initialBackoff, turnedAwayBackoff
		p.holdReservation(ctx, conn, first)
		first = nil
		delay = jittered(backoff, initialBackoff)
	}
}

// connect dials the anchor; the connection the reservation will ride on.
func (p *simPeer) connect(ctx context.Context) (network.Conn, error) {
	// The policy above is the only backoff: the swarm's own would fail the next dial at once.
	if s, ok := p.h.Network().(*swarm.Swarm); ok {
		s.Backoff().Clear(p.relay.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, peerDialTimeout)
	defer cancel()
	if err := p.h.Connect(ctx, p.relay); err != nil {
		return nil, err
	}
	for _, c := range p.h.Network().ConnsToPeer(p.relay.ID) {
		if !c.IsClosed() {
			return c, nil
		}
	}
	return nil, errors.New("the connection closed as it opened: EOF")
}

// holdReservation reserves on the open connection (again after a failure, as the js client's
// retry patch does) and keeps the reservation, renewed and pinged, until the connection drops.
func (p *simPeer) holdReservation(ctx context.Context, conn network.Conn, first chan struct{}) {
	var retryDelay time.Duration
	// The js client reserves on the connection it has and never dials for it.
	reserveCtx := network.WithNoDial(ctx, "reserve")
	for !conn.IsClosed() {
		rsvp, err := client.Reserve(reserveCtx, p.h, p.relay)
		if err != nil {
			p.failed(err)
			// The js client: up to 5 s after an answer that came too late (or any other failure),
			// up to 30 s after a refusal, doubling to 60 s, jittered above 1 s.
			switch {
			case retryDelay > 0:
				retryDelay = min(retryDelay*2, reserveRetryMaximum)
			case refused(err):
				retryDelay = reserveRetryRefused
			default:
				retryDelay = reserveRetryLate
			}
			wait := reserveRetryFloor + time.Duration(mathrand.Float64()*float64(retryDelay-reserveRetryFloor))
			if !p.waitWhileOpen(ctx, conn, wait) {
				return
			}
			continue
		}
		retryDelay = 0
		generation, gained := p.setReserved(true)
		if first != nil {
			close(first)
			first = nil
		}
		// A library peer's identify answer names its circuit address as soon as it holds the
		// reservation: the anchor asks it at 0.1 s (a stream the anchor opens) and puts that
		// record. About 2 s later, once its address manager (1 s) and identify push (1 s) have
		// debounced the change, it pushes the same record again. go-libp2p pushes on a change
		// only: the new address at once (so here the record reaches the anchor in a push, a stream
		// the peer opens, and the anchor finds no need to ask), and a protocol toggled at 2 s for
		// the second push.
		var repush *time.Timer
		if gained {
			p.announce(generation)
			repush = time.AfterFunc(repushAfter, func() { p.repush(generation) })
		}
		renewIn := max(time.Until(rsvp.Expiration)-renewBefore, reserveRetryLate)
		dropped := p.keepAlive(ctx, conn, renewIn)
		if repush != nil {
			repush.Stop()
		}
		if dropped {
			p.setReserved(false)
			return
		}
	}
}

// keepAlive pings the anchor every pingEvery until renewIn has passed (false) or the connection
// dropped (true); an unanswered ping closes the connection, as the library's ConnectionLiveness.
func (p *simPeer) keepAlive(ctx context.Context, conn network.Conn, renewIn time.Duration) bool {
	renew := time.NewTimer(renewIn)
	defer renew.Stop()
	tick := time.NewTicker(jittered(pingEvery, pingEvery)) // the first within 15-30 s: a crowd that joined together pings apart
	defer tick.Stop()
	for {
		if conn.IsClosed() {
			return true
		}
		select {
		case <-ctx.Done():
			return true
		case <-renew.C:
			return false
		case <-p.dropSignal:
		case <-tick.C:
			tick.Reset(pingEvery)
			if !p.ping(ctx, conn) && !conn.IsClosed() && ctx.Err() == nil {
				closedUnanswered.Add(1)
				_ = conn.Close()
			}
		}
	}
}

// ping: whether the anchor answered within pingTimeout. As the library's ConnectionLiveness, with
// the muxer's own ping (a yamux frame each way, no stream), and the ping protocol only where the
// connection has no yamux session.
func (p *simPeer) ping(ctx context.Context, conn network.Conn) bool {
	var session *goyamux.Session
	if conn.As(&session) {
		answer := make(chan error, 1)
		// Session.Ping gives up by itself after its write timeout, or when the session closes.
		go func() { _, err := session.Ping(); answer <- err }()
		select {
		case err := <-answer:
			return err == nil
		case <-time.After(pingTimeout):
			return false
		case <-ctx.Done():
			return false
		}
	}
	// Never a dial: a ping that redialled a dropped anchor would hide the drop.
	pctx, cancel := context.WithTimeout(network.WithNoDial(ctx, "keepalive"), pingTimeout)
	defer cancel()
	// The channel closes without a result when the time is up.
	result, answered := <-ping.Ping(pctx, p.h, p.relay.ID)
	return answered && result.Error == nil
}

// waitWhileOpen waits d; false when the connection dropped (or ctx ended) first.
func (p *simPeer) waitWhileOpen(ctx context.Context, conn network.Conn, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for !conn.IsClosed() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return !conn.IsClosed()
		case <-p.dropSignal:
		}
	}
	return false
}

func (p *simPeer) failed(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// setReserved records when the peer lost or regained its reservation; losing it also takes the
// circuit address out of the host's addresses. It returns the reservation's generation, which
// a later announce must still match, and whether this changed it (not a renewal).
func (p *simPeer) setReserved(reserved bool) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reserved == reserved {
		return p.generation, false
	}
	p.reserved = reserved
	if reserved {
		p.gainedAt = time.Now()
	} else {
		p.lostAt = time.Now()
		p.generation++
		p.emit(nil)
	}
	return p.generation, true
}

// announce puts the circuit address in the host's addresses as autorelay does (identify pushes
// the new signed record to the anchor), unless the reservation of that generation is gone.
func (p *simPeer) announce(generation uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reserved && p.generation == generation {
		p.emit(p.circuit)
	}
}

// repushProtocol is toggled to make go-libp2p's identify push again (see holdReservation); the
// push carries the record the anchor has, as the library's second push does, and the anchor
// handles both alike (the same envelope is not checked again; nothing new to put).
const repushProtocol = protocol.ID("/meganet/storm-sim/repush/1.0.0")

// repush pushes the peer's record to the anchor again, unless the reservation of that generation is gone.
func (p *simPeer) repush(generation uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reserved || p.generation != generation {
		return
	}
	if p.repushed {
		p.h.RemoveStreamHandler(repushProtocol)
	} else {
		p.h.SetStreamHandler(repushProtocol, func(s network.Stream) { _ = s.Reset() })
	}
	p.repushed = !p.repushed
}

// emit, with p.mu held: the order of the events is the order of the changes.
func (p *simPeer) emit(addrs []ma.Multiaddr) {
	_ = p.emitter.Emit(event.EvtAutoRelayAddrsUpdated{RelayAddrs: append([]ma.Multiaddr{}, addrs...)})
}

// refused: the anchor answered the reservation with a status other than OK (the js client's
// "reservation failed with status"), not a failure to get an answer.
func refused(err error) bool {
	var re client.ReservationError
	return errors.As(err, &re) && re.Reason == "reservation failed"
}

// turnedAway: the anchor is up but shedding dials (AnchorMesh's turnedAway): a reset, or the
// connection closed before the handshake finished. A refused connection (it is down) is not.
func turnedAway(err error) bool {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	text := err.Error()
	return strings.Contains(text, "connection reset") || strings.Contains(text, "EOF")
}

// jittered is AnchorMesh's jitter: anywhere from half the first backoff up to the whole backoff.
func jittered(backoff, first time.Duration) time.Duration {
	floor := min(first/2, backoff)
	return floor + time.Duration(mathrand.Float64()*float64(backoff-floor))
}

// pause waits d; false when ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func residentBytes() int64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(statm), &size, &resident); err != nil {
		return 0
	}
	return resident * int64(os.Getpagesize())
}

// stallMonitor: the longest a 20 ms ticker has run late since it was last asked.
type stallMonitor struct{ maxNs atomic.Int64 }

func startStallMonitor() *stallMonitor {
	m := &stallMonitor{}
	go func() {
		last := time.Now()
		for range time.Tick(stallTick) {
			// Not the tick's own time: that is when it fell due, however late it is read.
			now := time.Now()
			if late := now.Sub(last) - stallTick; late > time.Duration(m.maxNs.Load()) {
				m.maxNs.Store(int64(late))
			}
			last = now
		}
	}()
	return m
}

func (m *stallMonitor) takeMaxMs() float64 {
	return float64(m.maxNs.Swap(0)) / 1e6
}
