// Uploads from the browser straight to the lab's folder: a small file in one PUT, a large one in
// parts of 8 MiB, four at once, each part's progress shown. An upload in parts is resumable: its
// upload id is kept in this browser (localStorage) under the file's name, size and date, and a new
// upload of the same file after a pause, a reload or a lost network sends only the parts S3 lacks.

import { encodeKey, parse, signedHeaders, text } from "./aws.js";

export const PART = 8 * 1024 * 1024;
const AT_ONCE = 4;

function recordKey(bucket, key, file) {
  return `ncap-upload:${bucket.bucket}/${key}:${file.size}:${file.lastModified}`;
}

// One XHR PUT with its progress (fetch reports none for uploads).
function putWithProgress(url, headers, body, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr) : reject(new Error(`HTTP ${xhr.status} for ${url.split("?")[0]}`)));
    xhr.onerror = () => reject(new Error("the network dropped: upload again to resume"));
    xhr.onabort = () => reject(new DOMException("paused", "AbortError"));
    if (signal) signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

export class Upload {
  constructor(bucket, key, file, onProgress) {
    this.bucket = bucket;
    this.key = key;
    this.file = file;
    this.onProgress = onProgress; // (bytes sent, total, resumed parts)
    this.controller = null;
    this.resumed = 0;
  }

  pause() {
    if (this.controller) this.controller.abort();
  }

  async start() {
    this.controller = new AbortController();
    if (this.file.size <= PART) {
      const url = this.bucket.url(this.key);
      const headers = await signedHeaders("PUT", url, this.bucket.region, this.bucket.creds,
        { "content-type": this.file.type || "application/octet-stream" });
      await putWithProgress(url, headers, this.file, (sent) => this.onProgress(sent, this.file.size, 0),
        this.controller.signal);
      this.onProgress(this.file.size, this.file.size, 0);
      return;
    }
    const record = recordKey(this.bucket, this.key, this.file);
    let uploadId = localStorage.getItem(record);
    let done = new Map();
    if (uploadId) {
      try {
        done = await this.listParts(uploadId);
      } catch {
        uploadId = null; // it was completed or aborted meanwhile: start afresh
      }
    }
    if (!uploadId) {
      const reply = await this.bucket.send("POST", this.key, "uploads=", undefined,
        { "content-type": this.file.type || "application/octet-stream" });
      uploadId = text(parse(await reply.text()), "UploadId");
      localStorage.setItem(record, uploadId);
    }
    const count = Math.ceil(this.file.size / PART);
    const sent = new Map();
    for (const [number, size] of done) sent.set(number, size);
    this.resumed = done.size;
    const report = () => this.onProgress([...sent.values()].reduce((a, b) => a + b, 0), this.file.size, this.resumed);
    report();
    const waiting = [];
    for (let number = 1; number <= count; number++) {
      const size = Math.min(PART, this.file.size - (number - 1) * PART);
      if (done.get(number) !== size) waiting.push(number);
    }
    const worker = async () => {
      while (waiting.length) {
        const number = waiting.shift();
        const body = this.file.slice((number - 1) * PART, Math.min(number * PART, this.file.size));
        const url = this.bucket.url(this.key, `partNumber=${number}&uploadId=${encodeURIComponent(uploadId)}`);
        const headers = await signedHeaders("PUT", url, this.bucket.region, this.bucket.creds);
        await putWithProgress(url, headers, body, (bytes) => { sent.set(number, bytes); report(); },
          this.controller.signal);
        sent.set(number, body.size);
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, waiting.length) }, worker));
    const parts = await this.listParts(uploadId);
    const xml = "<CompleteMultipartUpload>" + [...parts.entries()].sort((a, b) => a[0] - b[0])
      .map(([number]) => `<Part><PartNumber>${number}</PartNumber><ETag>${this.etags.get(number)}</ETag></Part>`)
      .join("") + "</CompleteMultipartUpload>";
    await this.bucket.send("POST", this.key, `uploadId=${encodeURIComponent(uploadId)}`, xml,
      { "content-type": "application/xml" });
    localStorage.removeItem(record);
  }

  // part number -> size of the parts S3 has of this upload (and their ETags, for completing it)
  async listParts(uploadId) {
    const found = new Map();
    this.etags = new Map();
    let marker = "";
    for (;;) {
      const query = `uploadId=${encodeURIComponent(uploadId)}` + (marker ? `&part-number-marker=${marker}` : "");
      const xml = parse(await (await this.bucket.send("GET", this.key, query)).text());
      for (const part of xml.getElementsByTagName("Part")) {
        const number = Number(text(part, "PartNumber"));
        found.set(number, Number(text(part, "Size")));
        this.etags.set(number, text(part, "ETag"));
      }
      if (text(xml, "IsTruncated") !== "true") return found;
      marker = text(xml, "NextPartNumberMarker");
    }
  }
}

export { encodeKey };
