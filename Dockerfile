# rathaus: a static binary on a distroless image, running as a non-root user.
# Build: docker build -t rathaus .   Run: see docker-compose.yml.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that needs no libc. Time zones come from the
# embedded time/tzdata (imported by cmd/rathaus), so the image needs none.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/rathaus ./cmd/rathaus

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rathaus /usr/local/bin/rathaus
# distroless's "nonroot" user, numeric so that runAsNonRoot checks can see it.
USER 65532:65532
ENV RATHAUS_ADDR=:8080 \
    RATHAUS_MAIL_DIR=/tmp/mail-out
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/rathaus"]
CMD ["serve"]
