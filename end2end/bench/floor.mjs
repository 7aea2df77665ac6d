// The floor of call setup on this machine: a bare page with no framework
// (served by the benchmark itself, through the browser's request routing)
// that takes the camera and microphone and sends them over a loopback
// RTCPeerConnection pair in the one tab. Its time from navigation start to
// the first rendered remote frame is what no app can beat here.

const FLOOR_PAGE = `<!doctype html><meta charset="utf-8"><video id="v" autoplay playsinline muted></video>
<script>
(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  b.ontrack = (e) => {
    const v = document.getElementById('v');
    if (v.srcObject) return;
    v.srcObject = e.streams[0];
    v.requestVideoFrameCallback((now) => (window.floor = now));
  };
  for (const t of stream.getTracks()) a.addTrack(t, stream);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
})();
</script>`;

/** One floor run: ms from navigation start to the first loopback frame. */
export async function floorRun(browser, base) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route(`${base}/floor`, (route) => route.fulfill({ contentType: 'text/html', body: FLOOR_PAGE }));
  await page.goto(`${base}/floor`);
  await page.waitForFunction(() => window.floor !== undefined);
  const ms = await page.evaluate(() => window.floor);
  await context.close();
  return ms;
}
