// Keep the newest message in view while a reply streams, unless the reader scrolled up.
(() => {
  let pinned = true;
  const atBottom = () =>
    window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  const follow = () => { if (pinned) window.scrollTo(0, document.documentElement.scrollHeight); };
  window.addEventListener('scroll', () => { pinned = atBottom(); }, {passive: true});
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && event.target.tagName === 'TEXTAREA') {
      pinned = true;  // sending a message brings the conversation back into view
    }
  });
  document.addEventListener('click', (event) => {
    if (event.target.closest('.chat-send')) pinned = true;
  });
  new MutationObserver(follow).observe(document.body,
    {childList: true, subtree: true, characterData: true});
  window.addEventListener('load', () => setTimeout(follow, 100));
})();
