package emit

import _ "embed"

// zsh reads the POSIX block (posix.go); what is its own is the prompt hook (a precmd
// function) and the completion (compdef, after compinit).
var (
	//go:embed zsh/hook.zsh
	zshHook string
	//go:embed zsh/completion.zsh
	zshCompletion string
)
