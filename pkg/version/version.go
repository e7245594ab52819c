// Package version holds the build version, set with -ldflags at release.
package version

// Version is the Vigil version of this build.
var Version = "0.1.0-dev"
