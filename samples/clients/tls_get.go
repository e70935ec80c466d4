// tls_get.go: one HTTPS GET from Go's standard library, for a ClientHello capture.
// Nothing but the version limits is set: the certificate to trust comes from
// SSL_CERT_FILE, which crypto/x509 reads on Linux, so the tls.Config stays default.
//
// usage: tls_get [-http] [-tls10] URL
//
//	default  crypto/tls.Dial with a zero tls.Config (ServerName from the URL) and a
//	         hand-written HTTP/1.0 request
//	-http    net/http's default client instead (http.Get), which adds ALPN h2,http/1.1
//	-tls10   MinVersion = MaxVersion = tls.VersionTLS10
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	useHTTP := flag.Bool("http", false, "use net/http's default client")
	tls10 := flag.Bool("tls10", false, "pin crypto/tls to TLS 1.0")
	flag.Parse()
	if flag.NArg() != 1 || (*useHTTP && *tls10) {
		fmt.Fprintln(os.Stderr, "usage: tls_get [-http | -tls10] URL")
		os.Exit(2)
	}
	var err error
	if *useHTTP {
		err = getHTTP(flag.Arg(0))
	} else {
		err = getTLS(flag.Arg(0), *tls10)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tls_get:", err)
		os.Exit(1)
	}
}

func getHTTP(raw string) error {
	resp, err := http.Get(raw)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

func getTLS(raw string, tls10 bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
	}
	conf := &tls.Config{ServerName: host}
	if tls10 {
		conf.MinVersion = tls.VersionTLS10
		conf.MaxVersion = tls.VersionTLS10
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", net.JoinHostPort(host, port), conf)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", u.RequestURI(), host)
	_, err = io.Copy(os.Stdout, conn)
	fmt.Fprintf(os.Stderr, "tls_get: %s, suite %s\n", versionName(conn.ConnectionState().Version),
		tls.CipherSuiteName(conn.ConnectionState().CipherSuite))
	return err
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}
