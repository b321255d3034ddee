# dsqlenv completion for fish, from:
#   dsqlenv completion fish > ~/.config/fish/completions/dsqlenv.fish
# Commands, shells and flags come from dsqlenv itself, profile names from the profiles file
# (--config on the line, DSQLENV_CONFIG or the default file).
function __dsqlenv_complete
    set -l words (commandline -opc)
    set -e words[1]
    {{.Bin}} __complete --cur=(commandline -ct) $words 2>/dev/null
end
complete -c dsqlenv -f -a '(__dsqlenv_complete)'
