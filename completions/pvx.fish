# fish completion for pvx
# Install: pvx completion fish > ~/.config/fish/completions/pvx.fish
# The candidates come from `pvx __complete -- <words…>`: one `value<TAB>description` line each,
# then `:none`, `:files` or `:dirs`.
function __pvx_complete
    set -l tokens (commandline -opc)
    set -l bin $tokens[1]
    set -e tokens[1]
    set -l current (commandline -ct)
    set -l fallback none
    for line in ($bin __complete -- $tokens "$current" 2>/dev/null)
        switch $line
            case ':*'
                set fallback (string sub -s 2 -- $line)
            case '*'
                printf '%s\n' $line
        end
    end
    switch $fallback
        case files
            __fish_complete_path "$current"
        case dirs
            __fish_complete_directories "$current"
    end
end
# -k: keep pvx's order (commands as defined, backups newest first)
complete -c pvx -f -k -a '(__pvx_complete)'
