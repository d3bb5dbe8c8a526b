package main

// The storm peers' policies against the js ones they stand in for (AnchorMesh's turnedAway and
// jitter, node-image/src/net/anchor-mesh.ts; the reservation retry of the circuit-relay patch).
// Run by test/interop/go-peers-policy.test.ts.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
)

func TestTurnedAwayIsAResetOrAnEndMidHandshakeNotARefusal(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("failed to dial: %w", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: err}})
	}
	for name, err := range map[string]error{
		"reset":                wrap(syscall.ECONNRESET),
		"closed mid-handshake": fmt.Errorf("failed to negotiate security protocol: %w", io.EOF),
		"closed in a message":  fmt.Errorf("noise: %w", io.ErrUnexpectedEOF),
	} {
		if !turnedAway(err) {
			t.Errorf("%s (%v): not turned away", name, err)
		}
	}
	for name, err := range map[string]error{
		"refused (the anchor is down)": wrap(syscall.ECONNREFUSED),
		// AnchorMesh counts only a reset (ECONNRESET) and an end mid-handshake.
		"a write after a reset": wrap(syscall.EPIPE),
		"timed out":             fmt.Errorf("dial: %w", errors.New("i/o timeout")),
	} {
		if turnedAway(err) {
			t.Errorf("%s (%v): turned away", name, err)
		}
	}
}

func TestJitterStaysBetweenHalfTheFirstBackoffAndTheBackoff(t *testing.T) {
	for _, c := range []struct{ backoff, first time.Duration }{
		{initialBackoff, initialBackoff},
		{8 * time.Second, initialBackoff},
		{turnedAwayBackoff, turnedAwayBackoff},
		{turnedAwayMaximum, turnedAwayBackoff},
	} {
		low, high := c.backoff, time.Duration(0)
		for range 2000 {
			d := jittered(c.backoff, c.first)
			low, high = min(low, d), max(high, d)
		}
		floor := min(c.first/2, c.backoff)
		if low < floor || high > c.backoff {
			t.Errorf("jittered(%s, %s) ranged %s-%s, outside %s-%s", c.backoff, c.first, low, high, floor, c.backoff)
		}
		// Spread over the window, not bunched (2000 draws).
		if span := c.backoff - floor; low > floor+span/10 || high < c.backoff-span/10 {
			t.Errorf("jittered(%s, %s) ranged only %s-%s", c.backoff, c.first, low, high)
		}
	}
}

func TestOnlyAnAnswerOtherThanOKIsARefusedReservation(t *testing.T) {
	if !refused(fmt.Errorf("reserving: %w", client.ReservationError{Status: pbv2.Status_RESERVATION_REFUSED, Reason: "reservation failed"})) {
		t.Error("a RESERVATION_REFUSED answer is not a refusal")
	}
	if refused(client.ReservationError{Status: pbv2.Status_CONNECTION_FAILED, Reason: "error reading reservation response message: %w"}) {
		t.Error("no answer in time is a refusal")
	}
	if refused(io.EOF) {
		t.Error("a closed stream is a refusal")
	}
}
