// Command freeport prints loopback TCP ports that are free now, one a
// line, for bench/run.sh to start servers on. It holds all of them open
// until it has them all, so the ports it prints are distinct; another
// process could still take one before the server that should use it.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
)

func main() {
	n := flag.Int("n", 1, "how many ports")
	flag.Parse()

	var held []net.Listener
	for range *n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		held = append(held, ln)
	}
	for _, ln := range held {
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
}
