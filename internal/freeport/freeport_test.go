package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickIsFreeAndOutsideTheEphemeralRange(t *testing.T) {
	low, known := ephemeralLow()
	seen := map[int]bool{}
	for range 20 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if known && low-span >= 1024 && (p < low-span || p >= low) {
			t.Errorf("port %d is outside [%d, %d)", p, low-span, low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("picked port %d cannot be bound: %v", p, err)
		}
		l.Close()
		seen[p] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 picks gave only %d distinct ports: %v", len(seen), seen)
	}
}

func TestPickNGivesDistinctBindablePorts(t *testing.T) {
	for range 50 {
		ports, err := PickN("127.0.0.1", 8)
		if err != nil {
			t.Fatal(err)
		}
		if len(ports) != 8 {
			t.Fatalf("asked for 8 ports, got %d", len(ports))
		}
		seen := map[int]bool{}
		for _, p := range ports {
			if seen[p] {
				t.Fatalf("port %d handed out twice in one call: %v", p, ports)
			}
			seen[p] = true
		}
		for _, p := range ports {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				t.Fatalf("picked port %d cannot be bound after PickN returned: %v", p, err)
			}
			l.Close()
		}
	}
}
