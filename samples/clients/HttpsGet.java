// HttpsGet.java: one HTTPS GET through Java's HttpsURLConnection (JSSE), for a ClientHello
// capture. Every TLS setting comes from the JDK's defaults or from the command line
// (jdk.tls.client.protocols, java.security.properties, javax.net.ssl.trustStore), so the
// program itself changes nothing: what the capture shows is what a plain Java client sends.
//
// usage: java [-D...] HttpsGet URL
import java.io.InputStream;
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class HttpsGet {
	public static void main(String[] args) throws Exception {
		if (args.length != 1) {
			System.err.println("usage: java HttpsGet URL");
			System.exit(2);
		}
		HttpsURLConnection conn = (HttpsURLConnection) new URL(args[0]).openConnection();
		conn.setConnectTimeout(5000);
		conn.setReadTimeout(5000);
		try (InputStream in = conn.getInputStream()) {
			System.out.write(in.readAllBytes());
		}
		System.out.println(conn.getCipherSuite());
		System.out.flush();
	}
}
