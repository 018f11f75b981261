package experiments

import "runtime/debug"

// version is the project's release version.
const version = "0.1.0"

// Version returns the release version and, when built from a VCS checkout,
// the revision.
func Version() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}
