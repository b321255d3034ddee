package cli

import "github.com/dsqlenv/dsqlenv/profiles"

// termSafe is what dsqlenv prints for a person — errors, show, list, --debug, doctor, status,
// a server certificate's names — with the characters a terminal would act on escaped
// (profiles.EscapeControls). Shell blocks do not pass through it: they are for a shell, and
// quoted for it.
func termSafe(s string) string { return profiles.EscapeControls(s) }
