// Command minio is the MinIO server (github.com/minio/minio), the S3-compatible
// object store the tests talk to over real HTTP.
package main

import (
	"os"

	// Stands in for github.com/minio/minio/internal/init, which a module
	// outside minio cannot import: MinIO must run in UTC. Initialised early
	// (it depends only on os and sorts before github.com/...).
	_ "etaops.local/hack/s3/internal/utc"

	minio "github.com/minio/minio/cmd"
)

func main() {
	minio.Main(os.Args)
}
