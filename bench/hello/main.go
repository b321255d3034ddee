// Command hello is the process floor for `make bench`: a Go program that prints one line.
package main

import "fmt"

func main() { fmt.Println("hello") }
