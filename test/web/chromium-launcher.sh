#!/bin/sh
# Starts Chromium ($DRIPLINE_CHROMIUM) for the browser tests (./chromium.ts) with their
# --disable-features lists merged into one: Chromium keeps only the last --disable-features it is
# given, and Playwright passes its own list before the tests' (checked on Chromium 156: of two,
# only the last applied).
set -eu
disabled=''
for arg do
  shift
  case $arg in
    --disable-features=*) disabled="${disabled:+$disabled,}${arg#--disable-features=}" ;;
    *) set -- "$@" "$arg" ;;
  esac
done
exec "${DRIPLINE_CHROMIUM:?}" "$@" ${disabled:+"--disable-features=$disabled"}
