# bash completion for pvx
# Install: source <(pvx completion bash)   (e.g. in ~/.bashrc)
#      or: pvx completion bash > ~/.local/share/bash-completion/completions/pvx
# The candidates come from `pvx __complete -- <words…>`: one `value<TAB>description` line each,
# then `:none`, `:files` or `:dirs`.
_pvx() {
    local cur=${COMP_WORDS[COMP_CWORD]} bin=${COMP_WORDS[0]} line=${COMP_LINE-} word glued n i
    local -a words=()
    [[ $bin == '~/'* ]] && bin=$HOME/${bin#'~/'}
    # bash splits words at '=' and ':' (COMP_WORDBREAKS); pvx wants --for=create and pve1:2,pve2 whole
    for ((i = 0; i <= COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        [[ $line == [[:blank:]]* ]] && glued=0 || glued=1
        line=${line#*"$word"}
        n=${#words[@]}
        if ((i > 1 && glued)) && [[ $word == [=:]* || ${words[n-1]} == *[=:] ]]; then
            words[n-1]+=$word
        else
            words+=("$word")
        fi
    done
    local answer
    answer=$("$bin" __complete -- "${words[@]:1}" 2>/dev/null) || return 0
    # bash replaces only its own last word: what came before it is dropped from each candidate
    local keep=${words[${#words[@]}-1]}
    keep=${keep%"$cur"}
    local fallback=none
    COMPREPLY=()
    while IFS= read -r line; do
        case $line in
            :*) fallback=${line#:} ;;
            ?*) line=${line%%$'\t'*}; COMPREPLY+=("${line#"$keep"}") ;;
        esac
    done <<<"$answer"
    case $fallback in
        files) compopt -o filenames 2>/dev/null; mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur") ;;
        dirs) compopt -o filenames 2>/dev/null; mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur") ;;
    esac
    return 0
}
complete -F _pvx pvx
