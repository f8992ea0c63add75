// Command s3-mkbucket waits until an S3 endpoint answers signed requests and
// makes sure the named buckets exist. It uses minio-go, which the MinIO server
// module already brings, so the service scripts need neither npm nor curl.
//
//	s3-mkbucket -endpoint http://127.0.0.1:59000 -wait 60s etaops-test
//
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:59000", "S3 endpoint URL")
	region := flag.String("region", "us-east-1", "region")
	wait := flag.Duration("wait", 60*time.Second, "how long to wait for the endpoint to answer")
	flag.Parse()

	u, err := url.Parse(*endpoint)
	if err != nil || u.Host == "" {
		fail("bad -endpoint %q", *endpoint)
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Secure:       u.Scheme == "https",
		Region:       *region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		fail("client: %v", err)
	}

	deadline := time.Now().Add(*wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = client.ListBuckets(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			fail("%s did not answer within %s: %v", *endpoint, *wait, err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	for _, b := range flag.Args() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ok, err := client.BucketExists(ctx, b)
		if err == nil && !ok {
			err = client.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: *region})
		}
		cancel()
		if err != nil {
			fail("bucket %s: %v", b, err)
		}
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "s3-mkbucket: "+format+"\n", a...)
	os.Exit(1)
}
