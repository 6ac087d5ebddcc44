#!/usr/bin/env bash
# Install the Debian packages the study needs (TeX for the paper, poppler for
# looking at it, R for the tests that check the claims' statistics against R's stats),
# only those missing: seconds when everything is there.
set -euo pipefail

PACKAGES=(latexmk texlive-latex-recommended texlive-fonts-recommended texlive-pictures
          texlive-science lmodern poppler-utils r-base-core)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "initstudy: missing Debian packages: ${missing[*]}" >&2
    echo "  install them as root: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
echo "initstudy: installing ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
