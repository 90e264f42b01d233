# Minimal Node.js runtime, no registry needed: the build host's own node binary, its shared libraries
# and the dynamic loader, staged by scripts/build-images.sh into rootfs/ (same absolute paths as on
# the host). Tagged upgradelink/node-runtime:local; the sandbox and Prism images build on it.
FROM scratch
COPY rootfs/ /
ENV NODE_ENV=production
# Inherited by the sandbox and Prism images: lets build-images.sh prune only its own dangling images.
LABEL org.upgradelink.image="true"
# Numeric user: there is no /etc/passwd in this image.
USER 65534:65534
ENTRYPOINT ["/usr/bin/node"]
