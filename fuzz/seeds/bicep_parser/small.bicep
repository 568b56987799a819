param name string = 'chsm'
@minLength(3)
param other string
var x = [for i in range(0, 3): { n: '${name}-${i}' }]
resource c 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = { name: name, location: resourceGroup().location }
output o string = c.id
