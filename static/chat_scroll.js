// Keep the newest message in view while a reply streams, unless the reader scrolled up; then
// pause and show "Jump to latest" (issue 14), which scrolls down and follows again.
// The scroller is the message list (`.chat-messages`) where the layout is fixed (wide screens),
// the window on a phone, where the whole page scrolls.
(() => {
  let pinned = true;
  const list = () => document.querySelector('.chat-messages');
  const scrollsItself = (el) => el && getComputedStyle(el).overflowY === 'auto'
    && el.scrollHeight > el.clientHeight;
  const atBottom = () => {
    const el = list();
    if (scrollsItself(el)) return el.scrollTop + el.clientHeight >= el.scrollHeight - 80;
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  };
  const toBottom = () => {
    const el = list();
    if (scrollsItself(el)) el.scrollTop = el.scrollHeight;
    else window.scrollTo(0, document.documentElement.scrollHeight);
  };
  const showJump = () => {
    const button = document.querySelector('.chat-jump-latest');
    if (!button) return;
    const streaming = !!document.querySelector('.chat-streaming');
    button.classList.toggle('chat-jump-visible', !pinned && streaming);
  };
  const follow = () => { if (pinned) toBottom(); showJump(); };
  const onScroll = () => { pinned = atBottom(); showJump(); };
  window.addEventListener('scroll', onScroll, {passive: true});
  document.addEventListener('scroll', (event) => {
    if (event.target.classList && event.target.classList.contains('chat-messages')) onScroll();
  }, {passive: true, capture: true});
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && event.target.tagName === 'TEXTAREA') {
      pinned = true;  // sending a message brings the conversation back into view
    }
  });
  document.addEventListener('click', (event) => {
    if (event.target.closest('.chat-send')) pinned = true;
    if (event.target.closest('.chat-jump-latest')) {
      pinned = true;
      toBottom();
      showJump();
    }
  });
  new MutationObserver(follow).observe(document.body,
    {childList: true, subtree: true, characterData: true});
  window.addEventListener('load', () => setTimeout(follow, 100));
})();
