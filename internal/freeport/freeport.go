// Package freeport picks TCP ports for listeners that are bound a little
// later, by another component or process (the embedded engine's services,
// a test's child processes).
//
// Asking the kernel for port 0 and closing the socket hands out a port from
// the ephemeral range, which the kernel goes on handing to every outgoing
// connection on the machine; between the pick and the bind, a database or
// gRPC connection can take it (CI saw the engine fail with "Failed to start
// gRPC listener" while other tests ran). Ports just below the ephemeral
// range are never given to outgoing connections, so Pick chooses there.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// span is how many ports below the ephemeral range Pick chooses from.
const span = 10000

// Pick returns a port on ip that was free a moment ago and lies outside the
// kernel's ephemeral range where that range is known; elsewhere it falls
// back to a kernel-chosen port.
func Pick(ip string) (int, error) {
	if low, ok := ephemeralLow(); ok && low-span >= 1024 {
		for range 64 {
			p := low - span + rand.IntN(span)
			if l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p))); err == nil {
				l.Close()
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// PickN returns n distinct ports on ip that were free a moment ago. Each
// port is held open until all are chosen, so one call never hands out the
// same port twice (separate Pick calls can: a port closed by one pick is
// free for the next).
func PickN(ip string, n int) ([]int, error) {
	held := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for attempt := 0; len(ports) < n; attempt++ {
		if attempt == 64*n {
			return nil, fmt.Errorf("finding %d free ports on %s: only %d found", n, ip, len(ports))
		}
		p, err := Pick(ip)
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			continue // taken between the pick and now: choose again
		}
		held = append(held, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralLow reads the first port of Linux's ephemeral range.
func ephemeralLow() (int, bool) {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return 0, false
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, false
	}
	return low, true
}
