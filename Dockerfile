# SPDX-License-Identifier: GPL-2.0-or-later
# Dockerfile - nsbridge as a small runtime image whose entrypoint is nsbridge
#
#   docker build -t nsbridge .
#   docker run --rm --pid host --cap-add SYS_ADMIN --cap-add SYS_PTRACE \
#       --network container:web nsbridge --host-netns /proc/1/ns/net -c self host:5432 container:5432

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends meson ninja-build pkg-config gcc libc6-dev \
	libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev libcap-dev libseccomp-dev libcurl4-openssl-dev libjson-c-dev libsystemd-dev libmicrohttpd-dev libconfig-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY include include
COPY src src
# meson.build reads these; the runtime image has no manual pages
COPY docs/meson.build docs/nsbridge.1.scd docs/
COPY completions completions
COPY deploy/meson.build deploy/nsbridge@.service deploy/nsbridge-user@.service \
     deploy/nsbridge-labels.service deploy/
RUN meson setup build -Dtests=false -Dman=disabled --buildtype=release \
 && ninja -C build \
 && strip build/src/nsbridge

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libnl-3-200 libnl-route-3-200 libnl-idiag-3-200 libcap2 libseccomp2 \
	libcurl4 libjson-c5 libsystemd0 libmicrohttpd12 libconfig9 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY --from=build /src/build/src/nsbridge /usr/local/bin/nsbridge
ENTRYPOINT ["/usr/local/bin/nsbridge"]
