// autocannon's setupClient for `npm run bench` (a file, as its worker threads require): each connection walks
// the list of hosts from its own random place, so the connections do not all ask for the same host at once.
module.exports = (client) => {
  const requests = client.opts.requests
  const start = Math.floor(Math.random() * requests.length)
  client.setRequests([...requests.slice(start), ...requests.slice(0, start)])
}
