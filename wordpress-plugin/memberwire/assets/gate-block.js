// The "Members only" block in the editor: its content (inner blocks) shows only to members with
// one of its levels; the server decides (includes/access.php, memberwire_gate_render).
(function (blocks, element, blockEditor, components) {
  var el = element.createElement;
  blocks.registerBlockType('memberwire/gate', {
    apiVersion: 2,
    title: 'Members only',
    description: 'Content only members with a memberwire level see.',
    icon: 'lock',
    category: 'widgets',
    attributes: { level: { type: 'string', default: '' }, else: { type: 'string', default: '' } },
    edit: function (props) {
      var a = props.attributes;
      var set = function (name) {
        return function (value) {
          var next = {};
          next[name] = value;
          props.setAttributes(next);
        };
      };
      return el(
        'div',
        blockEditor.useBlockProps({ className: 'memberwire-gate' }),
        el(
          blockEditor.InspectorControls,
          null,
          el(
            components.PanelBody,
            { title: 'Who sees this' },
            el(components.TextControl, { label: 'Levels (comma-separated)', value: a.level, onChange: set('level') }),
            el(components.TextControl, { label: 'Shown to everyone else', value: a.else, onChange: set('else') })
          )
        ),
        el('p', { className: 'memberwire-gate-label' }, a.level ? 'Only members with ' + a.level + ' see this:' : 'Members only: choose the levels in the block settings.'),
        el(blockEditor.InnerBlocks)
      );
    },
    save: function () {
      return el(blockEditor.InnerBlocks.Content);
    },
  });
})(window.wp.blocks, window.wp.element, window.wp.blockEditor, window.wp.components);
