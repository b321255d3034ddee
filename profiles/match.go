package profiles

import "strings"

// The checks below are plain code rather than regular expressions: compiling a regexp costs
// tens of thousands of instructions, paid by every `dsqlenv bash prod` at a shell's start-up
// and prompt (make bench). TestMatchersAgreeWithTheirPatterns holds each to the pattern in
// its comment.

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlnum(c byte) bool { return isDigit(c) || isLower(c) || c >= 'A' && c <= 'Z' }

// IsProfileName reports whether s is a usable profile name, `^[A-Za-z0-9][A-Za-z0-9._-]*$`. Profile names appear as a pg_service.conf
// section ([name]), in DSQLENV_PROFILE, and as a shell word when completing.
func IsProfileName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// isHostname: `^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`,
// dot-separated labels of letters, digits and inner hyphens, with an optional final dot.
func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return false
	}
	start := 0 // of the current label
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if !isAlnum(s[i]) && s[i] != '-' {
				return false
			}
			continue
		}
		if i == start || !isAlnum(s[start]) || !isAlnum(s[i-1]) {
			return false // an empty label, or one that starts or ends with '-'
		}
		start = i + 1
	}
	return true
}

// isRegion: `^[a-z]{2}(-[a-z]+)+-[0-9]+$`, as us-east-1 or ap-southeast-2.
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for j := 0; j < len(p); j++ {
			if i == len(parts)-1 && !isDigit(p[j]) || i < len(parts)-1 && !isLower(p[j]) {
				return false
			}
		}
	}
	return true
}

// IsClusterID reports whether an endpoint is a bare cluster ID rather than a host name:
// `^[a-z0-9]{26}$`, the first label of every public endpoint (ID.dsql.REGION.on.aws). AWS's
// DSQL connectors accept one with a region in place of the host (awslabs/aurora-dsql-connectors).
func IsClusterID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLower(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// RegionFromEndpoint returns the region an endpoint names, or "": the official DSQL
// connectors' pattern `\.dsql[^.]*\.([^.]+)\.on\.aws$`.
func RegionFromEndpoint(host string) string {
	rest, ok := strings.CutSuffix(host, ".on.aws")
	if !ok {
		return ""
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 || dot == len(rest)-1 {
		return ""
	}
	region, before := rest[dot+1:], rest[:dot]
	// before must end in ".dsql" followed by anything without a dot.
	i := strings.LastIndexByte(before, '.')
	if i < 0 || !strings.HasPrefix(before[i+1:], "dsql") {
		return ""
	}
	return region
}

// ParseClusterARN reads a DSQL cluster ARN, as the console shows it, into the cluster ID and
// its region: `^arn:aws:dsql:([a-z0-9-]+):[0-9]{12}:cluster/([a-z0-9]{26})$`, the region in
// the shape isRegion accepts.
func ParseClusterARN(s string) (id, region string, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "dsql" || !isRegion(parts[3]) || len(parts[4]) != 12 {
		return "", "", false
	}
	for i := 0; i < len(parts[4]); i++ {
		if !isDigit(parts[4][i]) {
			return "", "", false
		}
	}
	id, found := strings.CutPrefix(parts[5], "cluster/")
	if !found || !IsClusterID(id) {
		return "", "", false
	}
	return id, parts[3], true
}

// IsRegion reports whether s has the shape of an AWS region name, as us-east-1.
func IsRegion(s string) bool { return isRegion(s) }
