#!/bin/sh
# Generate configure and Makefile.in (autoconf, automake, libtool).
set -e
cd "$(dirname "$0")"
autoreconf -fi
