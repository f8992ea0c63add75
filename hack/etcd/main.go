// Command etcd is etcd 3.6 built from its Go module: Debian's etcd 3.4 is
// too old for kube-apiserver (it needs >= 3.5.13).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
