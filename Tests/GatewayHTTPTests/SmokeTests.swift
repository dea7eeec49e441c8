import Testing
import GatewayHTTP

@Test func smoke() {
    let (t, ok) = parseEveryWay(bytes("GET /a?b=1 HTTP/1.1\r\nHost: gw\r\n\r\nPOST /p HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabcPOST /c HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"))
    print(t.requests, t.error as Any)
    #expect(ok)
    #expect(t.requests.count == 3)
}
