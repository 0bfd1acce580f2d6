# zsh -f drive.zsh FPATH_DIR OUT_FILE 'command line': completes the line once
# in an interactive zsh on a pseudo-terminal and writes the offered words to
# OUT_FILE, then a line DONE.
zmodload zsh/zpty
local dir=$1 out=$2 input=$3
: > $out
zpty z zsh -f -i
# The dump goes next to OUT_FILE: compinit writes it even with -D, and
# given /dev/null it replaces the device with a regular file (as root).
zpty -w z "fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -d $out.zcompdump"
zpty -w z "compadd() { local -a __hits; builtin compadd -O __hits \"\$@\"; print -l -- \$__hits >> $out; builtin compadd \"\$@\"; }"
zpty -w z "_capture_done() { print DONE >> $out; }"
zpty -w z "_capture_widget() { comppostfuncs=(_capture_done); _main_complete; }"
zpty -w z "zle -C capture-complete complete-word _capture_widget; bindkey '^I' capture-complete"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; LISTMAX=100000"
zpty -w -n z "$input"$'\t'
local i
for i in {1..300}; do
  grep -qx DONE $out 2>/dev/null && break
  zpty -r -t z _ 2>/dev/null
  sleep 0.05
done
zpty -d z
grep -qx DONE $out
