// Package utc sets TZ=UTC before the rest of MinIO initialises, as MinIO's own
// internal/init package does.
package utc

import "os"

func init() { os.Setenv("TZ", "UTC") }
